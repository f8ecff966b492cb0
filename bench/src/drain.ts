/** Section 2: drain latency, SIGTERM to exit minus the time the longest in-flight request was due to finish. */
import http from 'node:http';
import { describeExit, startServer, terminate, type Ending, type ServerChild } from './child.js';
import { get, type Answer } from '@lameduck/test-utils';
import { bullets, int, table, wrap } from './report/markdown.js';
import type { Finding, Progress, SectionReport } from './report/section.js';
import { max, median, min } from './stats.js';
import { LAMEDUCK_EVERYWHERE, PEERS_ON_EXPRESS, variantName, type Variant } from './variants.js';

/** One column: R, and whether a keep-alive connection also sits idle, its response just finished. */
export interface DrainCase {
  /** R: how long the longest request still has to run when SIGTERM is sent (ms). */
  remaining: number;
  idle: boolean;
}

export interface DrainSettings {
  cases: DrainCase[];
  /** K: requests in flight, with R/2 + R/2K, …, R ms left. */
  requests: number;
  /** Runs per cell (median shown), repetitions interleaved. */
  repeats: number;
}

interface DrainRun {
  /** Exit minus when the last response was due (ms): the time the library added to the physical limit. */
  over: number;
  ending: Ending;
  answers: Answer[];
}

/** The runs of one library in one case; empty when not run (see `SINGLE_RUN_ABOVE`). */
type Cell = DrainRun[];

/** The target of the issue: exit at most this long after the longest request. */
const TARGET = 25;
/** Medians of a few runs: a difference smaller than this between two libraries is scheduling noise (ms). */
const NOISE = 5;
/** A library this far over the limit in its first run runs once: its time does not depend on R (ms). */
const SINGLE_RUN_ABOVE = 1_000;
/** A server still running this long after the longest request was due is killed. */
const CAP = 15_000;
/** The K requests must all reach the server within this long. */
const ARRIVAL_TIMEOUT = 10_000;
/** lameduck's default `idleGrace` (ms), for the notes. */
const IDLE_GRACE = 500;

/**
 * Resolves with the times (hrtime ms) at which the child said each of `count` requests is due,
 * once all have arrived (the child prints a line per request as it arrives).
 */
function dueTimes(server: ServerChild, count: number): Promise<number[]> {
  const due: number[] = [];
  let stop = (): void => {};
  let timer: NodeJS.Timeout | undefined;
  return new Promise<number[]>((resolve, reject) => {
    stop = server.onMessage((message) => {
      if (message.event !== 'received') return;
      due.push(Number(BigInt(String(message.dueNs))) / 1e6);
      if (due.length === count) resolve(due);
    });
    timer = setTimeout(() => reject(new Error(`only ${due.length} of ${count} requests arrived`)), ARRIVAL_TIMEOUT);
  }).finally(() => {
    stop();
    clearTimeout(timer);
  });
}

async function drainOnce(variant: Variant, { remaining, idle }: DrainCase, count: number): Promise<DrainRun> {
  const server = await startServer(variant.file);
  const agent = new http.Agent({ keepAlive: true });
  // Its own agent, so that no slow request reuses the connection it leaves idle.
  const idleAgent = new http.Agent({ keepAlive: true });
  try {
    // The idle case: one keep-alive connection has just been answered and stays open, as on any busy server.
    const before = idle ? [await get(server.port, '/', idleAgent)] : [];
    const arrived = dueTimes(server, count);
    const answers = Array.from({ length: count }, (_, id) => {
      const ms = Math.round((remaining * (count + id + 1)) / (2 * count));
      return get(server.port, `/slow?ms=${ms}&id=${id}`, agent);
    });
    const lastDue = max(await arrived);
    const ending = await terminate(server, remaining + CAP);
    return { over: ending.exit.at - lastDue, ending, answers: [...before, ...(await Promise.all(answers))] };
  } finally {
    agent.destroy();
    idleAgent.destroy();
    server.kill('SIGKILL');
  }
}

const overOf = (run: DrainRun): number => (run.ending.killed ? Infinity : run.over);
const typical = (cell: Cell): number => median(cell.map(overOf));
const signed = (ms: number): string => `${ms >= 0 ? '+' : '−'}${int(Math.abs(ms))}`;
const caseName = ({ remaining, idle }: DrainCase): string =>
  `R = ${int(remaining)} ms${idle ? ' + 1 idle keep-alive connection' : ''}`;

/** `+13 ms (+12 to +21)`: the median and, for repeated cells, the range; `—` when not run. */
function show(cell: Cell): string {
  if (cell.length === 0) return '—';
  if (cell.some((run) => run.ending.killed)) return `hung > ${int(CAP / 1000)} s, SIGKILL`;
  const overs = cell.map(overOf);
  const middle = `${signed(median(overs))} ms`;
  return cell.length === 1 ? middle : `${middle} (${signed(min(overs))} to ${signed(max(overs))})`;
}

/** What explains the slow rows and the idle column, said only where the numbers show it. */
function notes(cells: Map<Variant, Cell[]>, settings: DrainSettings): string {
  const worst = (library: Variant['library']): number => {
    const entry = [...cells].find(([variant]) => variant.library === library);
    return entry === undefined ? 0 : max(entry[1].filter((cell) => cell.length > 0).map(typical));
  };
  const items: string[] = [];
  const idleColumn = settings.cases.findIndex((item) => item.idle);
  const idleLameduck = LAMEDUCK_EVERYWHERE.map((variant) => cells.get(variant)![idleColumn] ?? []).filter(
    (cell) => cell.length > 0,
  );
  if (idleColumn !== -1 && idleLameduck.some((cell) => typical(cell) > TARGET)) {
    items.push(
      `The idle column is lameduck's design, and it costs up to \`idleGrace\` (${IDLE_GRACE} ms): a keep-alive ` +
        'connection whose response ended just before SIGTERM is closed only once it has been quiet for ' +
        '`idleGrace`, because a client may be writing its next request on it at that very moment (the same-tick ' +
        'race that resets requests in section 4 for the libraries that close such sockets at once). On a busy ' +
        'server with `readinessDelay: 0`, as here, some connection has usually just been answered, so lameduck ' +
        'exits up to `idleGrace` after the longest request; a smaller `idleGrace` shortens that. With a readiness ' +
        'delay of at least `idleGrace` (with `"auto"`, whenever a prober or the platform calls for one) no ' +
        'connection can be in that state when the drain ' +
        'starts: every response of the lame-duck phase carried `Connection: close`.',
    );
  }
  if (worst('textbook') > 4_000) {
    items.push(
      'textbook: `server.close()` stops accepting, but the keep-alive sockets of the answered requests stay ' +
        "open until Node's `keepAliveTimeout` (5 s, enforced about once a second) closes them.",
    );
  }
  if (worst('close-with-grace') > 5_000) {
    items.push(
      "Fastify `close()` + close-with-grace: Fastify's `keepAliveTimeout` is 72 s, so the sockets of the " +
        "answered requests hold `close()` open until close-with-grace's 10 s delay kills the process with exit 1.",
    );
  }
  if (worst('hgs') > 50) {
    items.push(
      'http-graceful-shutdown checks every 250 ms whether its connections are gone, so it exits up to 250 ms ' +
        'after the last response.',
    );
  }
  return items.length === 0 ? '' : bullets(items);
}

function findingsOf(cells: Map<Variant, Cell[]>, settings: DrainSettings): Finding[] {
  const findings: Finding[] = [];
  for (const variant of LAMEDUCK_EVERYWHERE) {
    cells.get(variant)!.forEach((cell, index) => {
      if (cell.length === 0) return;
      const where = `Drain, ${variantName(variant)}, ${caseName(settings.cases[index]!)}`;
      if (typical(cell) > TARGET) {
        findings.push({
          kind: 'miss',
          text:
            `${where}: exited ${show(cell)} after the longest request (target ≤ ${TARGET} ms)` +
            (settings.cases[index]!.idle
              ? `, waiting out \`idleGrace\` (${IDLE_GRACE} ms) on the idle connection.`
              : '.'),
        });
      } else if (max(cell.map(overOf)) > TARGET) {
        findings.push({
          kind: 'miss',
          noise: true,
          text: `${where}: one run of ${cell.length} exceeded the ${TARGET} ms target (${show(cell)}).`,
        });
      }
      const lost = cell.flatMap((run) => run.answers).filter((answer) => answer.outcome !== 'completed');
      if (lost.length > 0) {
        findings.push({
          kind: 'miss',
          text: `${where}: ${lost.length} requests did not complete (${lost.map((a) => a.detail).join(', ')}).`,
        });
      }
    });
  }
  for (const peer of PEERS_ON_EXPRESS) {
    const lameduck = LAMEDUCK_EVERYWHERE.find((variant) => variant.framework === peer.framework)!;
    const own = cells.get(lameduck)!;
    cells.get(peer)!.forEach((cell, index) => {
      const mine = own[index]!;
      const peerOk = cell.every((run) => run.answers.every((a) => a.outcome === 'completed'));
      if (cell.length > 0 && peerOk && typical(cell) < typical(mine)) {
        findings.push({
          kind: 'loss',
          noise: typical(mine) - typical(cell) < NOISE,
          text:
            `Drain, ${caseName(settings.cases[index]!)}: ${variantName(peer)} exited ${show(cell)} after the ` +
            `longest request, ${variantName(lameduck)} ${show(mine)}.`,
        });
      }
    });
  }
  return findings;
}

/** Runs section 2 and renders it. */
export async function runDrain(settings: DrainSettings, progress: Progress): Promise<SectionReport> {
  const variants = [...LAMEDUCK_EVERYWHERE, ...PEERS_ON_EXPRESS];
  const cells = new Map<Variant, Cell[]>(variants.map((variant) => [variant, settings.cases.map(() => [])]));
  const slow = (variant: Variant): boolean => {
    const first = cells.get(variant)![0]![0];
    return first !== undefined && (first.ending.killed || first.over > SINGLE_RUN_ABOVE);
  };
  // Repetitions interleaved, so that a busy moment on the shared machine does not hit one library only.
  for (let repeat = 0; repeat < settings.repeats; repeat++) {
    progress(`drain: repetition ${repeat + 1}/${settings.repeats}`);
    for (const variant of variants) {
      for (const [index, item] of settings.cases.entries()) {
        if (slow(variant)) break;
        cells.get(variant)![index]!.push(await drainOnce(variant, item, settings.requests));
      }
    }
  }

  const rows = variants.map((variant) => {
    const row = cells.get(variant)!;
    const runs = row.flat();
    const completed = runs.flatMap((run) => run.answers).filter((a) => a.outcome === 'completed').length;
    const sent = runs.reduce((total, run) => total + run.answers.length, 0);
    const exits = [...new Set(runs.map((run) => describeExit(run.ending)))].join(', ');
    return [variantName(variant), ...row.map(show), `${completed}/${sent}`, exits];
  });
  const markdown = [
    wrap(
      `Each run starts a fresh server child and sends it ${settings.requests} requests on keep-alive connections ` +
        `to \`GET /slow?ms=…\`, which answer after R/2 + R/${2 * settings.requests}, …, R ms, so that all are in ` +
        'flight when SIGTERM comes. The child prints a line as each request arrives, with the time its response ' +
        "is due on `process.hrtime` (the machine's monotonic clock, the same in both processes). Once all have " +
        'arrived the driver sends SIGTERM and times the exit of the child (its `exit` event). A cell is exit time ' +
        'minus the time the longest request was due: what the library adds to the physical limit. It includes the ' +
        'exit of a Node process itself (from `process.exit()` to the `exit` event in the driver, several ms here). ' +
        'In the last column, one more keep-alive connection has just been answered (`GET /`) and sits idle when ' +
        `SIGTERM comes, as some connection always does on a busy server. Each cell is the median of ` +
        `${settings.repeats} runs (range in brackets), repetitions interleaved; a library over ` +
        `${int(SINGLE_RUN_ABOVE / 1000)} s in its first run ran once (—: not run, its time does not depend on R). ` +
        `Target for lameduck: ≤ ${TARGET} ms.`,
    ),
    table(
      [
        { header: 'Library' },
        ...settings.cases.map((item) => ({ header: caseName(item), align: 'right' as const })),
        { header: 'responses 2xx', align: 'right' },
        { header: 'exit code', align: 'right' },
      ],
      rows,
    ),
    notes(cells, settings),
  ]
    .filter((part) => part !== '')
    .join('\n\n');

  const busyColumns = settings.cases.flatMap((item, index) => (item.idle ? [] : [index]));
  const idleColumns = settings.cases.flatMap((item, index) => (item.idle ? [index] : []));
  const worstOf = (columns: number[]): number =>
    max(LAMEDUCK_EVERYWHERE.flatMap((variant) => columns.map((index) => typical(cells.get(variant)![index]!))));
  const idlePart =
    idleColumns.length === 0
      ? ''
      : `, ${signed(worstOf(idleColumns))} ms with an idle keep-alive connection (its \`idleGrace\`)`;
  return {
    title: 'Drain latency: SIGTERM to exit, minus the longest request',
    headline:
      `lameduck exited at most ${signed(worstOf(busyColumns))} ms after its longest in-flight request (median of ` +
      `${settings.repeats} runs; target ≤ ${TARGET} ms)${idlePart}`,
    markdown,
    findings: findingsOf(cells, settings),
  };
}
