/**
 * Section 1's measurement: server CPU time per request for every variant of a framework, switched inside
 * the same server processes between short windows, each variant's window between two of bare's, in random
 * order, round after round, process after process.
 */
import os from 'node:os';
import { pin } from '../child.js';
import type { Progress } from '../report/section.js';
import type { Framework } from '../variants.js';
import { startCpuServer, startWrk, type CpuServer } from './processes.js';
import { CPU_VARIANTS, type CpuVariant } from './protocol.js';

export interface CpuSettings {
  frameworks: readonly Framework[];
  /** Fresh server processes per framework, one after another. */
  processes: number;
  /** Measured rounds per process; each runs every variant once, in a new random order. */
  rounds: number;
  /** Discarded rounds per process first, after a calibration window. */
  warmups: number;
  /** Target length of one window; its request count comes from the calibration. */
  windowSeconds: number;
  /** wrk's keep-alive connections. */
  connections: number;
}

/** What one window measured. */
export interface WindowMeasure {
  /** Microseconds of server CPU (user + system, every thread) per request. */
  micros: number;
  /** Requests per second over the window, by the server's clock. */
  rps: number;
  /** With in-path timing: ns per request in the variant's first layer (`server/in-path.ts`). */
  inPath?: number;
}

/**
 * One window: a variant's server CPU per request and its throughput, in one round of one process, with
 * bare's just around it: the mean of the bare windows right before and right after. (A bare window is a
 * sample too, with itself as `bare`.)
 */
export interface CpuSample extends WindowMeasure {
  framework: Framework;
  process: number;
  round: number;
  variant: CpuVariant;
  /** Share of one core the server got over the window (below 1: something else ran on its core). */
  busy: number;
  /** The reference's windows around it (bare in section 1). */
  bare: WindowMeasure;
}

export interface CpuRun {
  settings: CpuSettings;
  samples: CpuSample[];
  /** Requests per window, per framework (from each first process's calibration). */
  windowRequests: Partial<Record<Framework, number>>;
  pinned: boolean;
}

const SERVER_CORE = '1';
const LOAD_CORE = '0';
/** The calibration window: enough requests to warm up, measured to size the real windows. */
const CALIBRATION = { skip: 5_000, count: 10_000 };

function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

/**
 * One server process of `framework` holding `variants` (the reference first), under wrk: a calibration
 * window, then rounds of every other variant once each, in a new random order, each window between two
 * of the reference's. Returns the requests per window.
 */
export async function measureProcess(
  framework: Framework,
  index: number,
  variants: readonly CpuVariant[],
  settings: Omit<CpuSettings, 'frameworks' | 'processes'>,
  onSample: (sample: CpuSample) => void,
  inPath = false,
): Promise<number> {
  const [reference, ...others] = variants as [CpuVariant, ...CpuVariant[]];
  const server: CpuServer = await startCpuServer(framework, SERVER_CORE, { variants, inPath });
  try {
    const wrk = startWrk(server.port, settings.connections, LOAD_CORE);
    try {
      const calibration = await server.measure(reference, CALIBRATION.skip, CALIBRATION.count);
      const count = Math.max(
        500,
        Math.round((calibration.requests / calibration.wallMs) * 1000 * settings.windowSeconds),
      );
      // Requests after a switch that no window counts: the new variant's code paths settle first.
      const skip = Math.max(100, Math.round(count / 10));
      // The machine's speed drifts by several per cent within seconds (other tenants, the other core's
      // load), and windows a second apart differ more than neighbours do: so every variant's window sits
      // between two of the reference's, and is compared with their mean.
      const measure = async (variant: CpuVariant): Promise<WindowMeasure & { busy: number }> => {
        const window = await server.measure(variant, skip, count);
        return {
          micros: window.cpuMicros / window.requests,
          rps: (window.requests / window.wallMs) * 1000,
          busy: window.cpuMicros / 1000 / window.wallMs,
          ...(window.inPathNanos === undefined ? {} : { inPath: window.inPathNanos }),
        };
      };
      for (let round = -settings.warmups; round < settings.rounds; round++) {
        let before = await measure(reference);
        const sample = (variant: CpuVariant, own: WindowMeasure & { busy: number }, bare: WindowMeasure): void => {
          if (round >= 0) onSample({ framework, process: index, round, variant, ...own, bare });
        };
        sample(reference, before, before);
        for (const variant of shuffled(others)) {
          const own = await measure(variant);
          const after = await measure(reference);
          const around = (key: 'micros' | 'rps' | 'inPath'): number => ((before[key] ?? 0) + (after[key] ?? 0)) / 2;
          const inPath = before.inPath === undefined ? {} : { inPath: around('inPath') };
          sample(variant, own, { micros: around('micros'), rps: around('rps'), ...inPath });
          before = after;
        }
      }
      return count;
    } finally {
      await wrk.stop();
    }
  } finally {
    await server.stop();
  }
}

/** Runs `work` with this process (the driver) on the load generator's core; `pinned` is false where it could not be. */
export async function onLoadCore<T>(work: (pinned: boolean) => Promise<T>): Promise<T> {
  const cores = os.availableParallelism();
  if (cores < 2) throw new Error('CPU per request needs two cores: one for the server, one for wrk');
  const pinned = pin(process.pid, LOAD_CORE);
  try {
    return await work(pinned);
  } finally {
    if (pinned) pin(process.pid, `0-${cores - 1}`);
  }
}

/** Runs every framework's processes and rounds; the driver itself stays on the load generator's core. */
export function measureCpu(settings: CpuSettings, progress: Progress): Promise<CpuRun> {
  return onLoadCore(async (pinned) => {
    const samples: CpuSample[] = [];
    const windowRequests: CpuRun['windowRequests'] = {};
    for (const framework of settings.frameworks) {
      for (let index = 0; index < settings.processes; index++) {
        const count = await measureProcess(framework, index, CPU_VARIANTS[framework], settings, (sample) =>
          samples.push(sample),
        );
        windowRequests[framework] ??= count;
        const bare = samples.filter((s) => s.framework === framework && s.process === index && s.variant === 'bare');
        const micros = bare.map((s) => s.micros).sort((a, b) => a - b)[Math.floor(bare.length / 2)]!;
        progress(
          `  cpu: ${framework} process ${index + 1}/${settings.processes}: bare ${micros.toFixed(1)} µs/request, ${count} requests per window`,
        );
      }
    }
    return { settings, samples, windowRequests, pinned };
  });
}
