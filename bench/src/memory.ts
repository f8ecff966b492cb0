/** The memory section: heap used after a forced GC, before and after the same soak, lameduck against its baseline, per adapter. */
import { startLoad } from '@lameduck/test-utils';
import { OVERHEAD_ROWS, type OverheadRow } from './cpu/overhead.js';
import { startCpuServer } from './cpu/processes.js';
import type { CpuVariant } from './cpu/protocol.js';
import { bytes, int, table, wrap } from './report/markdown.js';
import type { Finding, Progress, SectionReport } from './report/section.js';

export interface MemorySettings {
  /** Connections the soak opens in all, each for `requests / connections` keep-alive requests. */
  connections: number;
  /** Requests the soak sends in all. */
  requests: number;
  /** Connections open at once: the soak runs in waves of this many. */
  batch: number;
  /** Connections of one wave before the first heap reading, so that lazy set-up is not counted as growth. */
  warmup: number;
}

/** One server process: its heap after a forced GC before and after the soak. */
interface Soaked {
  before: number;
  after: number;
}

interface RowMemory {
  row: OverheadRow;
  baseline: Soaked;
  /** A second baseline process: how far two identical processes' growths differ. */
  aa: Soaked;
  lameduck: Soaked;
}

/** The target: lameduck's heap growth over the soak equals the baseline's within this many bytes. */
const TARGET = 1024 * 1024;

const growth = (soaked: Soaked): number => soaked.after - soaked.before;
const signedBytes = (value: number): string => `${value >= 0 ? '+' : '−'}${bytes(Math.abs(value))}`;

/** `connections` connections, `batch` at a time, each sending `perConnection` GETs on keep-alive, then closing. */
async function soak(port: number, connections: number, perConnection: number, batch: number): Promise<void> {
  for (let opened = 0; opened < connections; opened += batch) {
    const clients = Math.min(batch, connections - opened);
    const load = startLoad({ port, clients, requestsPerClient: perConnection, path: () => '/' });
    await load.finished;
    load.destroy();
    const { completed } = load.tally;
    if (completed !== clients * perConnection) {
      throw new Error(
        `soak: ${completed} of ${clients * perConnection} requests completed: ${JSON.stringify(load.tally)}`,
      );
    }
  }
}

/** One fresh server process serving only `variant`, with `--expose-gc`: its heap before and after the soak. */
async function soakOne(row: OverheadRow, variant: CpuVariant, settings: MemorySettings): Promise<Soaked> {
  const server = await startCpuServer(row.framework, '0-1', { variants: [variant], gc: true });
  try {
    const perConnection = Math.max(1, Math.round(settings.requests / settings.connections));
    await soak(server.port, settings.warmup, perConnection, settings.batch);
    const before = await server.heapUsed();
    await soak(server.port, settings.connections, perConnection, settings.batch);
    const after = await server.heapUsed();
    return { before, after };
  } finally {
    await server.stop();
  }
}

/** Runs every row: baseline, lameduck and a second baseline, each in its own process. */
export async function runMemory(
  settings: MemorySettings,
  progress: Progress,
  rows: readonly OverheadRow[] = OVERHEAD_ROWS,
): Promise<SectionReport> {
  const results: RowMemory[] = [];
  for (const row of rows) {
    const baseline = await soakOne(row, row.baseline, settings);
    const lameduck = await soakOne(row, 'lameduck', settings);
    const aa = await soakOne(row, row.baseline, settings);
    progress(
      `  memory: ${row.name}: heap growth baseline ${signedBytes(growth(baseline))}, ` +
        `lameduck ${signedBytes(growth(lameduck))}, A/A ${signedBytes(growth(aa))}`,
    );
    results.push({ row, baseline, aa, lameduck });
  }
  return render(results, settings);
}

function render(results: readonly RowMemory[], settings: MemorySettings): SectionReport {
  const perConnection = Math.max(1, Math.round(settings.requests / settings.connections));
  const excess = (result: RowMemory): number => growth(result.lameduck) - growth(result.baseline);
  const rows = results.map((result) => [
    result.row.name,
    `${bytes(result.baseline.before)} → ${bytes(result.baseline.after)}`,
    `${bytes(result.lameduck.before)} → ${bytes(result.lameduck.after)}`,
    signedBytes(growth(result.baseline)),
    signedBytes(growth(result.aa)),
    signedBytes(growth(result.lameduck)),
    `**${signedBytes(excess(result))}**`,
    Math.abs(excess(result)) <= TARGET ? 'yes' : '**no**',
  ]);
  const findings: Finding[] = results
    .filter((result) => Math.abs(excess(result)) > TARGET)
    .map((result) => ({
      kind: 'miss',
      noise: Math.abs(excess(result)) <= Math.abs(growth(result.aa) - growth(result.baseline)),
      text:
        `Memory, ${result.row.name}: over the soak lameduck's heap grew ${signedBytes(growth(result.lameduck))}, ` +
        `the baseline's ${signedBytes(growth(result.baseline))} (A/A ${signedBytes(growth(result.aa))}): ` +
        `${signedBytes(excess(result))}, beyond the 1 MiB target.`,
    }));
  const method = wrap(
    'Heap used (`process.memoryUsage().heapUsed`) after two forced full collections (`--expose-gc`), read by the ' +
      'server process itself once every connection has closed, before and after the same soak. Each row starts ' +
      "three fresh server processes (the overhead section's compiled servers, each building only the one " +
      'variant it serves): the baseline, lameduck, and the baseline again (the A/A control: what two identical ' +
      `processes differ by). A warm-up of ${int(settings.warmup)} connections runs before the first reading; the ` +
      `soak then opens ${int(settings.connections)} connections in waves of ${int(settings.batch)} at once, each ` +
      `sending ${int(perConnection)} keep-alive \`GET /\` (${int(perConnection * settings.connections)} requests in ` +
      "all, @lameduck/test-utils' `startLoad()`) and closing. Target: lameduck's growth equals the baseline's " +
      'within 1 MiB. RSS is left out: it grows by tens of MB over such a soak with or without lameduck.',
  );
  const overview = table(
    [
      { header: 'Row' },
      { header: 'baseline heap before → after', align: 'right' },
      { header: 'lameduck heap before → after', align: 'right' },
      { header: 'growth, baseline', align: 'right' },
      { header: 'growth, A/A', align: 'right' },
      { header: 'growth, lameduck', align: 'right' },
      { header: 'lameduck − baseline', align: 'right' },
      { header: 'within 1 MiB' },
    ],
    rows,
  );
  const worst = Math.max(...results.map((result) => Math.abs(excess(result))));
  return {
    title: 'Heap after a soak',
    headline:
      `after ${int(perConnection * settings.connections)} keep-alive requests on ${int(settings.connections)} ` +
      `connections, lameduck's heap grew within ${bytes(worst)} of its baseline's on every adapter (target ≤ 1 MiB)`,
    markdown: [method, overview].join('\n\n'),
    findings,
  };
}
