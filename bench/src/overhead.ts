/** Section 1: hello-world throughput and p99 latency per framework, bare vs lameduck vs peers, interleaved rounds. */
import os from 'node:os';
import autocannon from 'autocannon';
import { pin, startAll, type ServerChild } from './child.js';
import { barChart, fixed, int, percent, range, table, wrap } from './report/markdown.js';
import type { Finding, Progress, SectionReport } from './report/section.js';
import { max, median, min, noiseMargin } from './stats.js';
import { FRAMEWORK_NAMES, OVERHEAD_GROUPS, variantName, type Variant } from './variants.js';

export interface OverheadSettings {
  /** Interleaved rounds; every variant runs once per round. */
  rounds: number;
  /** Seconds per measured run. */
  duration: number;
  /** Seconds of the discarded warm-up run per variant. */
  warmup: number;
  connections: number;
}

interface Sample {
  rps: number;
  p99: number;
}

interface Row {
  variant: Variant;
  samples: Sample[];
  /** This variant's req/s over the mean of the two bare processes', round by round. */
  ratios: number[];
}

/** The target of the issue: lameduck serves at least this share of bare's throughput. */
const TARGET = 0.98;

async function cannon(server: ServerChild, seconds: number, connections: number): Promise<Sample> {
  const result = await autocannon({
    url: `http://127.0.0.1:${server.port}/`,
    connections,
    pipelining: 1,
    duration: seconds,
  });
  const failed = result.errors + result.timeouts + result.non2xx;
  if (failed > 0) throw new Error(`${server.name}: ${failed} errors, timeouts or non-2xx answers under autocannon`);
  return { rps: result['2xx'] / result.duration, p99: result.latency.p99 };
}

async function measureGroup(
  variants: Variant[],
  settings: OverheadSettings,
  pinned: boolean,
  progress: Progress,
): Promise<Row[]> {
  const servers = await startAll(variants.map((variant) => variant.file));
  try {
    if (pinned) for (const server of servers) pin(server.pid, '1');
    for (const server of servers) await cannon(server, settings.warmup, settings.connections);
    const samples = variants.map((): Sample[] => []);
    for (let round = 0; round < settings.rounds; round++) {
      // Rotated each round (A B C, B C A, C A B…) so that no variant always runs first or after the same one.
      for (let step = 0; step < variants.length; step++) {
        const index = (round + step) % variants.length;
        samples[index]!.push(await cannon(servers[index]!, settings.duration, settings.connections));
      }
    }
    progress(`  ${settings.rounds} rounds done`);
    // The reference of each round is the mean of the two identical bare processes: half the noise of one.
    const bare = samples[0]!;
    const control = samples[variants.findIndex((variant) => variant.control === true)]!;
    const reference = bare.map((sample, round) => (sample.rps + control[round]!.rps) / 2);
    return variants.map((variant, index) => ({
      variant,
      samples: samples[index]!,
      ratios: samples[index]!.map((sample, round) => sample.rps / reference[round]!),
    }));
  } finally {
    for (const server of servers) server.kill('SIGKILL');
    await Promise.all(servers.map((server) => server.exited));
  }
}

const rpsOf = (row: Row): number[] => row.samples.map((sample) => sample.rps);
const p99Of = (row: Row): number[] => row.samples.map((sample) => sample.p99);
/** The share of bare's throughput: the median of the per-round ratios (paired, so drift cancels). */
const share = (row: Row): number => median(row.ratios);
const lameduckOf = (rows: Row[]): Row => rows.find((row) => row.variant.library === 'lameduck')!;
const controlOf = (rows: Row[]): Row => rows.find((row) => row.variant.control === true)!;
/** The second bare process over the first, round by round: the A/A comparison. */
const aa = (rows: Row[]): number[] =>
  controlOf(rows).samples.map((sample, round) => sample.rps / rows[0]!.samples[round]!.rps);
/**
 * The smallest share difference this run resolves: from the A/A comparison (two identical bare
 * processes), the larger of their median difference and twice the standard error of a median of the rounds.
 */
const noiseOf = (rows: Row[]): number => Math.max(0.01, noiseMargin(aa(rows).map((ratio) => ratio - 1)));
/** The same for p99 (ms), from the two bare processes' per-round p99 differences; at least 1 ms (its resolution). */
const p99NoiseOf = (rows: Row[]): number =>
  Math.max(1, noiseMargin(p99Of(controlOf(rows)).map((p99, round) => p99 - p99Of(rows[0]!)[round]!)));

function renderGroup(rows: Row[]): string {
  const bareP99 = median(p99Of(rows[0]!));
  return table(
    [
      { header: 'Library' },
      { header: 'req/s (median)', align: 'right' },
      { header: 'req/s min–max', align: 'right' },
      { header: 'share of bare', align: 'right' },
      { header: 'per-round share min–max', align: 'right' },
      { header: 'p99 ms (median)', align: 'right' },
      { header: 'p99 min–max', align: 'right' },
      { header: 'p99 vs bare', align: 'right' },
    ],
    rows.map((row, index) => {
      const rps = rpsOf(row);
      const p99 = p99Of(row);
      const first = index === 0;
      const p99Difference = median(p99) - bareP99;
      return [
        variantName(row.variant, false),
        int(median(rps)),
        range(int(min(rps)), int(max(rps))),
        percent(share(row)),
        range(percent(min(row.ratios)), percent(max(row.ratios))),
        fixed(median(p99)),
        range(fixed(min(p99)), fixed(max(p99))),
        first ? '—' : `${p99Difference >= 0 ? '+' : '−'}${fixed(Math.abs(p99Difference))} ms`,
      ];
    }),
  );
}

function chart(groups: Row[][]): string {
  const rows = groups.flatMap((group) =>
    group.map((row) => ({
      label: `${FRAMEWORK_NAMES[row.variant.framework]} ${row.variant.control ? 'bare, 2nd process' : variantName(row.variant, false).replace(/[*`]/g, '')}`,
      value: share(row),
      text: percent(share(row)),
    })),
  );
  const from = Math.min(0.8, Math.floor(Math.min(...rows.map((row) => row.value)) * 20) / 20);
  const to = Math.max(1.05, Math.ceil(Math.max(...rows.map((row) => row.value)) * 20) / 20);
  return (
    `${barChart(rows, { from, to })}\n\n` +
    "Share of bare's throughput (median of the per-round ratios to the mean of the two bare processes). The " +
    'axis is zoomed: the left edge is ' +
    `${percent(from, 0)}, the right edge ${percent(to, 0)}.`
  );
}

function findings(rows: Row[]): Finding[] {
  const framework = FRAMEWORK_NAMES[rows[0]!.variant.framework];
  const lameduck = lameduckOf(rows);
  const noise = noiseOf(rows);
  const own = share(lameduck);
  const found: Finding[] = [];
  if (own < TARGET) {
    const resolved = 1 - own > noise;
    found.push({
      kind: 'miss',
      noise: !resolved,
      text:
        `Overhead, ${framework}: lameduck served ${percent(own)} of bare's throughput (per round ` +
        `${percent(min(lameduck.ratios))}–${percent(max(lameduck.ratios))}), under the ${percent(TARGET, 0)} target; ` +
        `this run resolves differences above ${percent(noise)} (A/A)` +
        (resolved ? '.' : ', so it cannot tell this one from noise.'),
    });
  }
  const better = rows.filter((row) => row !== lameduck && row.variant.library !== 'bare' && share(row) > own);
  for (const peer of better) {
    found.push({
      kind: 'loss',
      noise: share(peer) - own <= noise,
      text:
        `Overhead, ${framework}: ${variantName(peer.variant, false)} served ${percent(share(peer))} of bare's ` +
        `throughput, lameduck ${percent(own)}.`,
    });
  }
  const lowerP99 = rows.filter(
    (row) => row !== lameduck && row.variant.library !== 'bare' && median(p99Of(row)) < median(p99Of(lameduck)),
  );
  if (lowerP99.length > 0) {
    const p99Noise = p99NoiseOf(rows);
    for (const peer of lowerP99) {
      found.push({
        kind: 'loss',
        noise: median(p99Of(lameduck)) - median(p99Of(peer)) <= p99Noise,
        text:
          `Overhead, ${framework}: ${variantName(peer.variant, false)} had a lower median p99 ` +
          `(${fixed(median(p99Of(peer)))} ms) than lameduck (${fixed(median(p99Of(lameduck)))} ms).`,
      });
    }
  }
  return found;
}

/** Runs section 1 and renders it. */
export async function runOverhead(settings: OverheadSettings, progress: Progress): Promise<SectionReport> {
  const cores = os.availableParallelism();
  // Server on core 1, driver on core 0: without it the scheduler now and then puts both on one core.
  const pinned = cores >= 2 && pin(process.pid, '0');
  const groups: Row[][] = [];
  try {
    for (const group of OVERHEAD_GROUPS) {
      progress(`overhead: ${FRAMEWORK_NAMES[group.framework]} (${group.variants.length} servers)`);
      groups.push(await measureGroup(group.variants, settings, pinned, progress));
    }
  } finally {
    if (pinned) pin(process.pid, `0-${cores - 1}`);
  }
  const shares = groups.map(
    (rows) => `${percent(share(lameduckOf(rows)))} (${FRAMEWORK_NAMES[rows[0]!.variant.framework]})`,
  );
  const noises = groups.map(noiseOf);
  const method = wrap(
    'autocannon (as a library, in the driver process) against `GET /` (a hello world) on each server child: ' +
      `${settings.connections} keep-alive connections, pipelining 1, ${settings.duration} s per run, after one ` +
      `discarded ${settings.warmup} s warm-up run per server. All servers of one framework run side by side (idle ` +
      `but one) and are measured round-robin, ${settings.rounds} rounds, the order rotated each round (A B C, ` +
      `B C A, …). ` +
      (pinned
        ? 'Every server child is pinned to core 1 and the driver to core 0 (`taskset`), so that the scheduler never puts both on one core. '
        : 'The processes are not pinned to cores (no `taskset` here). ') +
      'Each framework has two identical bare processes (the last row is the second one). "share of bare" is the ' +
      'median over the rounds of each run divided by the mean of the two bare runs of the same round, which ' +
      'cancels slow drift of a shared machine. The two bare processes also give the noise of the run (the A/A ' +
      'comparison): a difference counts as resolved only above the larger of their median difference and twice ' +
      `the standard error of a median of ${settings.rounds} rounds, estimated from their per-round spread. The textbook \`server.close()\` ` +
      "server adds only a signal listener, so its throughput is bare's and it is not measured separately.",
  );
  const body = groups.map((rows) => `### ${FRAMEWORK_NAMES[rows[0]!.variant.framework]}\n\n${renderGroup(rows)}`);
  return {
    title: 'Overhead: throughput and p99 latency',
    headline:
      `lameduck served ${shares.join(', ')} of bare throughput (target ≥ ${percent(TARGET, 0)}; this run ` +
      `resolves differences above ${percent(min(noises), 0)}–${percent(max(noises), 0)}, from two identical bare processes)`,
    markdown: [method, ...body, '### Chart', chart(groups)].join('\n\n'),
    findings: groups.flatMap(findings),
  };
}
