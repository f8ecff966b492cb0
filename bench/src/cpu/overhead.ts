/**
 * lameduck's own cost per request: `measureOverhead(row)` serves a row's baseline, its A/A twin and its
 * lameduck variant in the same server processes, in short alternating windows, and returns lameduck − baseline
 * and A/A − baseline with intervals over repeated processes, twice: in µs of server CPU per request (end to
 * end), and in ns spent in the variant's first layer (in path, `server/in-path.ts`), which resolves tens of ns.
 *
 * Adding a row (a public-API tracker mode, another framework, another runtime):
 * 1. A server factory per variant: in `server/apps.ts`, a `Builder` under a new `Framework` key that builds
 *    `bare` (or `noop`, one no-op middleware, where the framework has middleware), its twin (`bare-aa` or
 *    `noop-aa`: built the same way, its own slot) and `lameduck`, and its entry in `CPU_VARIANTS`
 *    (`protocol.ts`) and `FRAMEWORK_NAMES` (`variants.ts`). A server on another runtime (Bun.serve,
 *    Deno.serve) or protocol (gRPC) is its own entry speaking `protocol.ts` to `startCpuServer()`: it counts
 *    requests in one dispatch function shared by every variant, as `server/main.ts` does, and reads
 *    `process.cpuUsage()` at the window's first and last request.
 * 2. A line in `OVERHEAD_ROWS` (below): `{ name, framework, baseline }`. `pnpm bench --only overhead` then
 *    measures and reports it with the others.
 */
import type { Progress } from '../report/section.js';
import { clusterBootstrapMedian, median, type Estimate } from '../stats.js';
import type { Framework } from '../variants.js';
import type { CpuVariant } from './protocol.js';
import { measureProcess, onLoadCore, type CpuSample, type CpuSettings } from './run.js';

/** What lameduck is measured on, and against what. */
export interface OverheadRow {
  /** How the report names it. */
  name: string;
  /** The builders (`server/apps.ts`) its server process runs. */
  framework: Framework;
  /** The baseline: `noop` (bare + one no-op middleware) where the framework has middleware, else `bare`. */
  baseline: 'bare' | 'noop';
}

/** Every adapter: what `pnpm bench` reports. */
export const OVERHEAD_ROWS: readonly OverheadRow[] = [
  { name: 'node:http (`handle()`)', framework: 'node:http', baseline: 'bare' },
  { name: 'Express', framework: 'express', baseline: 'noop' },
  { name: 'Fastify', framework: 'fastify', baseline: 'noop' },
  { name: 'Koa', framework: 'koa', baseline: 'noop' },
  { name: 'Hono', framework: 'hono', baseline: 'noop' },
  { name: 'NestJS (platform-express)', framework: 'nestjs', baseline: 'bare' },
];

/** How long and how often to measure; see `CpuSettings`. */
export type OverheadSettings = Omit<CpuSettings, 'frameworks'>;

/** One server process's medians, in µs per request. */
export interface ProcessOverhead {
  baseline: number;
  lameduck: number;
  aa: number;
}

/** A row's result, in µs of server CPU (user + system, every thread) per request. */
export interface Overhead {
  row: OverheadRow;
  settings: OverheadSettings;
  /** The baseline's median CPU per request. */
  baseline: number;
  /** lameduck − baseline: the median over every window of every process, and its 95% interval. */
  lameduck: Estimate;
  /** The A/A control: the baseline's twin − baseline, measured exactly like lameduck. */
  aa: Estimate;
  /** Each process's own medians: how far repeated runs agree. */
  processes: ProcessOverhead[];
  /** Requests per window (from the first process's calibration). */
  windowRequests: number;
  /** Server and wrk were pinned to separate cores. */
  pinned: boolean;
  /**
   * The same windows timed in path (`server/in-path.ts`): ns per request from entering the variant's first
   * layer to its handing on, which is where lameduck's work per request is while serving.
   */
  inPath: InPathOverhead;
}

/** In-path ns per request: the baseline's, lameduck − baseline and A/A − baseline, and each process's medians. */
export interface InPathOverhead {
  baseline: number;
  lameduck: Estimate;
  aa: Estimate;
  processes: { lameduck: number; aa: number }[];
}

/**
 * Measures `row`: `settings.processes` fresh server processes, one after another, each running rounds of
 * lameduck and the A/A twin in random order, each window between two of the baseline's. A window's
 * difference is its CPU per request minus the mean of the two baseline windows around it; the interval is
 * a two-level bootstrap (processes, then windows), so processes that disagree widen it.
 */
export function measureOverhead(row: OverheadRow, settings: OverheadSettings, progress: Progress): Promise<Overhead> {
  const aaVariant: CpuVariant = row.baseline === 'noop' ? 'noop-aa' : 'bare-aa';
  const variants: CpuVariant[] = [row.baseline, aaVariant, 'lameduck'];
  return onLoadCore(async (pinned) => {
    const perProcess: CpuSample[][] = [];
    let windowRequests = 0;
    for (let index = 0; index < settings.processes; index++) {
      const samples: CpuSample[] = [];
      const count = await measureProcess(
        row.framework,
        index,
        variants,
        settings,
        (sample) => samples.push(sample),
        true,
      );
      windowRequests ||= count;
      perProcess.push(samples);
      const { baseline, lameduck, aa } = processMedians(samples, aaVariant);
      const timed = inPathMedians(samples, aaVariant);
      progress(
        `  overhead: ${row.name} process ${index + 1}/${settings.processes}: baseline ${baseline.toFixed(2)} µs, ` +
          `lameduck ${signed(lameduck)} µs, A/A ${signed(aa)} µs (${count} requests per window); in path ` +
          `lameduck ${signed(timed.lameduck, 0)} ns, A/A ${signed(timed.aa, 0)} ns`,
      );
    }
    const differences = (variant: CpuVariant, key: Metric = 'micros'): number[][] =>
      perProcess.map((samples) => differencesOf(samples, variant, key));
    return {
      row,
      settings,
      baseline: median(
        perProcess
          .flat()
          .filter((s) => s.variant === row.baseline)
          .map((s) => s.micros),
      ),
      lameduck: clusterBootstrapMedian(differences('lameduck')),
      aa: clusterBootstrapMedian(differences(aaVariant)),
      processes: perProcess.map((samples) => processMedians(samples, aaVariant)),
      windowRequests,
      pinned,
      inPath: {
        baseline: median(
          perProcess
            .flat()
            .filter((s) => s.variant === row.baseline)
            .map((s) => s.inPath ?? Number.NaN),
        ),
        lameduck: clusterBootstrapMedian(differences('lameduck', 'inPath')),
        aa: clusterBootstrapMedian(differences(aaVariant, 'inPath')),
        processes: perProcess.map((samples) => inPathMedians(samples, aaVariant)),
      },
    };
  });
}

type Metric = 'micros' | 'inPath';

/** Each window's `key` minus the mean of the reference's windows around it. */
function differencesOf(samples: readonly CpuSample[], variant: CpuVariant, key: Metric): number[] {
  return samples
    .filter((s) => s.variant === variant)
    .map((s) => {
      const own = s[key];
      const around = s.bare[key];
      if (own === undefined || around === undefined) throw new Error(`a ${variant} window has no ${key} measure`);
      return own - around;
    });
}

function inPathMedians(samples: readonly CpuSample[], aaVariant: CpuVariant): { lameduck: number; aa: number } {
  return {
    lameduck: median(differencesOf(samples, 'lameduck', 'inPath')),
    aa: median(differencesOf(samples, aaVariant, 'inPath')),
  };
}

function processMedians(samples: readonly CpuSample[], aaVariant: CpuVariant): ProcessOverhead {
  const differences = (variant: CpuVariant): number[] => differencesOf(samples, variant, 'micros');
  return {
    baseline: median(samples.filter((s) => s.variant !== 'lameduck' && s.variant !== aaVariant).map((s) => s.micros)),
    lameduck: median(differences('lameduck')),
    aa: median(differences(aaVariant)),
  };
}

/** `+0.12` / `−0.03`. */
export const signed = (micros: number, digits = 2): string =>
  `${micros >= 0 ? '+' : '−'}${Math.abs(micros).toFixed(digits)}`;
