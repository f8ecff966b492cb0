/** The overhead section's report: lameduck's own µs of CPU per request on each row, with the A/A control. */
import { fixed, int, table, wrap } from '../report/markdown.js';
import type { Finding, SectionReport } from '../report/section.js';
import type { Estimate } from '../stats.js';
import { signed, type Overhead } from './overhead.js';

/** The target: lameduck's own work per request while serving, in µs of server CPU. */
export const OVERHEAD_TARGET = 0.25;

const interval = (estimate: Estimate): string =>
  `**${signed(estimate.median)}** (${signed(estimate.low)} to ${signed(estimate.high)})`;

/** The interval's width: what a run can tell apart. */
const width = (estimate: Estimate): number => estimate.high - estimate.low;

/** A row resolves the target when its intervals are narrower than it and the A/A's contains 0. */
const resolves = (result: Overhead): boolean =>
  width(result.lameduck) <= OVERHEAD_TARGET &&
  width(result.aa) <= OVERHEAD_TARGET &&
  result.aa.low <= 0 &&
  result.aa.high >= 0;

function verdict(result: Overhead): string {
  const { lameduck } = result;
  if (!resolves(result)) return 'not resolved';
  if (lameduck.high <= OVERHEAD_TARGET) return 'within';
  if (lameduck.low > OVERHEAD_TARGET) return '**over**';
  return 'at the edge';
}

function method(results: readonly Overhead[]): string {
  const settings = results[0]!.settings;
  return wrap(
    "What lameduck's own code costs per request while serving, in µs of server CPU (`process.cpuUsage()`, " +
      'user + system, every thread, read by the server process at the first and the last request of a window it ' +
      'counts itself; throughput plays no part). Each row runs ' +
      `${settings.processes} fresh server processes one after another (compiled, on the packages' built \`dist\`, ` +
      'pinned to core 1; wrk with ' +
      `${settings.connections} keep-alive connections on core 0), each holding three variants of the same hello ` +
      "world behind one listening server: the baseline (bare + one no-op middleware, Fastify's a no-op " +
      '`onRequest` hook, where the framework has middleware; bare for node:http and for NestJS, whose bare is ' +
      "Nest's own listener), its A/A twin (built the same way, a slot of its own) and lameduck (its adapter, " +
      'as its README mounts it, on the same app where the framework gives every app its own prototypes). ' +
      `After ${settings.warmups} discarded round(s), ${settings.rounds} rounds per process run lameduck and the ` +
      'twin once each in random order, every window (about ' +
      `${settings.windowSeconds} s of requests) between two of the baseline's: a window's difference is its CPU ` +
      'per request minus the mean of the two around it, which cancels the drift of a shared machine. The ' +
      'estimate is the median difference over every window of every process; its 95% interval is a two-level ' +
      'bootstrap (2,000 resamples of the processes, then of the windows within each), so processes that ' +
      'disagree widen it. The A/A row is measured exactly like lameduck and should straddle 0: its interval is ' +
      `what the run can resolve. Target: lameduck ≤ ${fixed(OVERHEAD_TARGET, 2)} µs; a row resolves it when both ` +
      `intervals are at most ${fixed(OVERHEAD_TARGET, 2)} µs wide and the A/A's contains 0. "within": the whole ` +
      'interval is at or under the target.',
  );
}

/** Renders the rows measured as one section. */
export function renderOverhead(results: readonly Overhead[]): SectionReport {
  const rows = results.map((result) => [
    result.row.name,
    fixed(result.baseline, 2),
    interval(result.lameduck),
    interval(result.aa),
    result.processes.map((p) => `${signed(p.lameduck)} / ${signed(p.aa)}`).join(', '),
    int(result.windowRequests),
    verdict(result),
  ]);
  const overview = table(
    [
      { header: 'Row' },
      { header: 'baseline µs/request', align: 'right' },
      { header: 'lameduck − baseline, µs (95% CI)', align: 'right' },
      { header: 'A/A − baseline, µs (95% CI)', align: 'right' },
      { header: 'per process: lameduck / A/A, µs' },
      { header: 'requests/window', align: 'right' },
      { header: `≤ ${fixed(OVERHEAD_TARGET, 2)} µs` },
    ],
    rows,
  );
  const findings: Finding[] = [...inPathFindings(results), ...cpuFindings(results)];
  const summary = results.map((r) => `${signed(r.inPath.lameduck.median, 0)} ns (${r.row.name})`).join(', ');
  const aaLow = Math.min(...results.map((r) => r.inPath.aa.low));
  const aaHigh = Math.max(...results.map((r) => r.inPath.aa.high));
  const cpu = results.map((r) => `${signed(r.lameduck.median)} µs`).join(', ');
  return {
    title: "lameduck's own CPU per request",
    headline:
      `lameduck's own work in the request path took ${summary} per request (target ≤ ${TARGET_NS} ns; A/A ` +
      `controls within ${signed(aaLow, 0)} to ${signed(aaHigh, 0)} ns); end to end, server CPU per request ` +
      `read ${cpu} over the baseline, in the same windows`,
    markdown: [inPathMethod(), inPathTable(results), method(results), overview].join('\n\n'),
    findings,
  };
}

/** The target in ns, for the in-path table. */
const TARGET_NS = OVERHEAD_TARGET * 1000;

const nsInterval = (estimate: Estimate): string =>
  `**${signed(estimate.median, 0)}** (${signed(estimate.low, 0)} to ${signed(estimate.high, 0)})`;

/** In path, a row resolves the target when the A/A's interval contains 0 and both are narrower than the target. */
function inPathVerdict(result: Overhead): string {
  const { lameduck, aa } = result.inPath;
  const resolved = width(lameduck) <= TARGET_NS && width(aa) <= TARGET_NS && aa.low <= 0 && aa.high >= 0;
  if (!resolved) return 'not resolved';
  if (lameduck.high <= TARGET_NS) return 'within';
  if (lameduck.low > TARGET_NS) return '**over**';
  return 'at the edge';
}

function inPathMethod(): string {
  return wrap(
    "**In the request path.** lameduck's work per request while serving is all in one place: its middleware, " +
      "hook or `handle()` (core's `intercept()`: one look at the socket, one at the URL's second character; it adds no " +
      'listener per request once its runtime check has decided). So the server processes below also time that ' +
      'place on every request: `performance.now()` as the first layer is entered and again as it hands on ' +
      "(calls `next()`, its hook's `done()`, or returns to the hello handler), with the no-op in lameduck's " +
      'place for the baseline and its A/A twin, so the timer itself cancels out. The windows, rounds, processes ' +
      'and bootstrap are the ones described for CPU below; a row is the median ns of lameduck − baseline with ' +
      `its 95% interval. Target: ≤ ${TARGET_NS} ns ("within": the whole interval at or under it, with the ` +
      "A/A's interval containing 0 and both narrower than the target, so that a regression of that size shows).",
  );
}

function inPathTable(results: readonly Overhead[]): string {
  return table(
    [
      { header: 'Row' },
      { header: 'baseline ns in path', align: 'right' },
      { header: 'lameduck − baseline, ns (95% CI)', align: 'right' },
      { header: 'A/A − baseline, ns (95% CI)', align: 'right' },
      { header: 'per process: lameduck / A/A, ns' },
      { header: `≤ ${TARGET_NS} ns` },
    ],
    results.map((result) => [
      result.row.name,
      fixed(result.inPath.baseline, 0),
      nsInterval(result.inPath.lameduck),
      nsInterval(result.inPath.aa),
      result.inPath.processes.map((p) => `${signed(p.lameduck, 0)} / ${signed(p.aa, 0)}`).join(', '),
      inPathVerdict(result),
    ]),
  );
}

function inPathFindings(results: readonly Overhead[]): Finding[] {
  return results
    .filter((result) => inPathVerdict(result) !== 'within')
    .map((result) => {
      const { lameduck, aa } = result.inPath;
      return {
        kind: 'miss',
        noise: lameduck.median <= TARGET_NS,
        text:
          `In the request path, ${result.row.name}: lameduck took ${signed(lameduck.median, 0)} ns per request ` +
          `(95% CI ${signed(lameduck.low, 0)} to ${signed(lameduck.high, 0)}; A/A ${signed(aa.median, 0)}, ` +
          `${signed(aa.low, 0)} to ${signed(aa.high, 0)}): ${inPathVerdict(result)} against the ≤ ${TARGET_NS} ns target.`,
      };
    });
}

/** End to end, a miss only where the CPU interval lies wholly over the target: work outside the timed layer. */
function cpuFindings(results: readonly Overhead[]): Finding[] {
  return results
    .filter((result) => resolves(result) && result.lameduck.low > OVERHEAD_TARGET)
    .map((result) => ({
      kind: 'miss',
      noise: false,
      text:
        `CPU per request, ${result.row.name}: lameduck cost ${signed(result.lameduck.median)} µs per request ` +
        `(95% CI ${signed(result.lameduck.low)} to ${signed(result.lameduck.high)}; A/A ` +
        `${signed(result.aa.median)}, ${signed(result.aa.low)} to ${signed(result.aa.high)}), over the ` +
        `≤ ${fixed(OVERHEAD_TARGET, 2)} µs target end to end.`,
    }));
}
