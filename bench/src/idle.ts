/** Section 3: 10,000 idle keep-alive connections, SIGTERM to exit, and the memory each tracked connection costs. */
import { setTimeout as sleep } from 'node:timers/promises';
import { describeExit, hrNow, startServer, terminate, type Ending } from './child.js';
import { getJson } from '@lameduck/test-utils';
import { openIdle } from './clients.js';
import { bytes, int, table, wrap } from './report/markdown.js';
import type { Finding, Progress, SectionReport } from './report/section.js';
import type { MemoryReport } from './servers/common.js';
import {
  BARE_EVERYWHERE,
  FRAMEWORK_NAMES,
  LAMEDUCK_EVERYWHERE,
  PEERS_ON_EXPRESS,
  variantName,
  type Variant,
} from './variants.js';

export interface IdleSettings {
  /** Idle connections measured. */
  connections: number;
  /** Connections opened (and kept) before the first memory reading, so warm-up allocations are not counted. */
  warmup: number;
  /** Connections opened at a time. */
  batch: number;
}

export interface IdleRun {
  /** Connections the server reported open, minus the one asking. */
  serverCount: number;
  opened: number;
  failures: number;
  before: MemoryReport;
  after: MemoryReport;
  ending: Ending;
  /** From SIGTERM until the last client saw its connection close (ms). */
  clientsClosedMs: number;
  /** From SIGTERM until the server process began to exit, by its own report (ms); NaN if a signal killed it. */
  exitCalledMs: number;
  ended: number;
  reset: number;
}

/** Where lameduck's own time goes: read from a CPU profile of node:http with 10,500 idle sockets. */
const WHY_OVER_FLOOR =
  "lameduck's own time is its one pass over every socket at the shutdown's start (what is in flight, bytes " +
  'read, its keep-alive timer and, with no lame-duck phase, the idleGrace rule); the idle sockets are then ' +
  'left for the kernel to close at exit, as for bare.';
/** Fastify's close() resolves only once its server has closed: the idle sockets waiting for their batch no longer hold that. */
const WHY_FASTIFY =
  "On Fastify, lameduck runs Fastify's `close()` as a cleanup hook (so that the application's `onClose` " +
  "hooks run); Fastify's close waits for its server's `close` event, which lameduck lets through once only " +
  'idle sockets waiting to be closed are left (they are closed by the kernel at exit, as for bare). ' +
  "Fastify's own `close()` (the close-with-grace row) waits for every socket to be destroyed.";
/** The target: lameduck exits at most this long after the same server killed outright (the kernel's floor). */
const OVER_FLOOR = 50;
/** How long the newest connection has been idle when SIGTERM is sent (longer than lameduck's 500 ms idleGrace). */
const IDLE_BEFORE_SIGTERM = 1_000;
const CAP = 15_000;
/** The same for every server, so that Node's 5 s default does not close connections while the others open. */
const KEEP_ALIVE_TIMEOUT = 120_000;

export async function idleOnce(variant: Variant, settings: IdleSettings): Promise<IdleRun> {
  const server = await startServer(variant.file, { BENCH_KEEP_ALIVE_TIMEOUT: String(KEEP_ALIVE_TIMEOUT) });
  const warm = await openIdle(server.port, settings.warmup, settings.batch).catch((error: unknown) => {
    server.kill('SIGKILL');
    throw error;
  });
  let idle: Awaited<ReturnType<typeof openIdle>> | undefined;
  try {
    const before = await getJson<MemoryReport>(server.port, '/mem');
    idle = await openIdle(server.port, settings.connections, settings.batch);
    const openedAt = hrNow();
    const after = await getJson<MemoryReport>(server.port, '/mem');
    await sleep(Math.max(0, openedAt + IDLE_BEFORE_SIGTERM - hrNow()));
    let exitingAt = NaN;
    server.onMessage((message) => {
      if (message.event === 'exiting' && typeof message.atMs === 'number') exitingAt = message.atMs;
    });
    const ending = await terminate(server, CAP);
    const lastClose = await Promise.race([idle.allClosed(), sleep(CAP).then(() => NaN)]);
    await Promise.race([warm.allClosed(), sleep(CAP)]);
    const { ended, reset } = idle.tally();
    return {
      serverCount: after.connections - 1,
      opened: warm.count + idle.count,
      failures: warm.failures + idle.failures,
      before,
      after,
      ending,
      clientsClosedMs: lastClose - (ending.exit.at - ending.ms),
      exitCalledMs: exitingAt - (ending.exit.at - ending.ms),
      ended,
      reset,
    };
  } finally {
    warm.destroy();
    idle?.destroy();
    server.kill('SIGKILL');
  }
}

const perConnection = (run: IdleRun, key: 'rss' | 'heapUsed', count: number): number =>
  (run.after[key] - run.before[key]) / count;

/** Runs section 3 and renders it. */
export async function runIdle(settings: IdleSettings, progress: Progress): Promise<SectionReport> {
  const variants = [...BARE_EVERYWHERE, ...LAMEDUCK_EVERYWHERE, ...PEERS_ON_EXPRESS];
  const runs = new Map<Variant, IdleRun>();
  for (const variant of variants) {
    progress(`idle: ${variantName(variant)}`);
    runs.set(variant, await idleOnce(variant, settings));
  }
  const total = settings.warmup + settings.connections;

  const exitRows = variants.map((variant) => {
    const run = runs.get(variant)!;
    const verified = run.serverCount === total ? `${int(run.serverCount)} ✓` : `${int(run.serverCount)} ✗`;
    return [
      variantName(variant),
      verified,
      run.ending.killed ? `hung > ${CAP / 1000} s` : `${int(run.ending.ms)} ms`,
      Number.isNaN(run.exitCalledMs) ? '—' : `${int(run.exitCalledMs)} ms`,
      Number.isNaN(run.clientsClosedMs) ? 'not all' : `${int(run.clientsClosedMs)} ms`,
      `${int(run.ended)} / ${int(run.reset)}`,
      describeExit(run.ending),
    ];
  });
  const memoryRows = LAMEDUCK_EVERYWHERE.map((lameduck, index) => {
    const bare = runs.get(BARE_EVERYWHERE[index]!)!;
    const own = runs.get(lameduck)!;
    const heap = [
      perConnection(bare, 'heapUsed', settings.connections),
      perConnection(own, 'heapUsed', settings.connections),
    ];
    const rss = [perConnection(bare, 'rss', settings.connections), perConnection(own, 'rss', settings.connections)];
    return [
      FRAMEWORK_NAMES[lameduck.framework],
      bytes(heap[0]!),
      bytes(heap[1]!),
      `${heap[1]! - heap[0]! >= 0 ? '+' : '−'}${bytes(Math.abs(heap[1]! - heap[0]!))}`,
      bytes(rss[0]!),
      bytes(rss[1]!),
      `${rss[1]! - rss[0]! >= 0 ? '+' : '−'}${bytes(Math.abs(rss[1]! - rss[0]!))}`,
    ];
  });

  const markdown = [
    wrap(
      `Each run starts a fresh server child (every server with \`keepAliveTimeout\` ${KEEP_ALIVE_TIMEOUT / 1000} s, so ` +
        `that none closes connections on its own while the others open), opens ${int(settings.warmup)} warm-up ` +
        `connections, reads the child's memory (\`GET /mem\` on a connection of its own: two \`gc()\` then ` +
        `\`process.memoryUsage()\`), opens ${int(settings.connections)} more raw TCP connections ${settings.batch} ` +
        'at a time, each sending one `GET /` and reading the whole keep-alive response, reads the memory again, ' +
        `and checks the server's own count (\`server.getConnections()\`) against ${int(total)}. SIGTERM is sent ` +
        `once the newest connection has been idle ${IDLE_BEFORE_SIGTERM} ms (lameduck closes a socket once quiet ` +
        'for `idleGrace`, 500 ms); a connection that finished a response less than that before SIGTERM is closed ' +
        'when its 500 ms are up. Target for lameduck: exit ≤ ' +
        `the same server killed outright + ${OVER_FLOOR} ms. Each server prints, as its process begins to exit, ` +
        "the time on the machine's monotonic clock (an `exit` listener; a process a signal kills prints " +
        'nothing): what comes after is the kernel closing the sockets, the same work as for bare, so the time ' +
        "until then is the shutdown code's own, and it is what the target is checked on. " +
        `One run per row: how far apart the four bare rows (the same work on four frameworks) read is the noise of these single runs.\n\n` +
        '"bare" has no shutdown code: the default action of SIGTERM kills it and the kernel closes its sockets. ' +
        `That is the floor here: closing ${int(total)} loopback TCP sockets is kernel work (each close also runs ` +
        "the client side's FIN handling), which no library avoids, and a graceful close does the same work from " +
        "JavaScript, one `socket.destroy()` at a time, plus Node's own bookkeeping per socket. Times are taken in " +
        `the driver, which at that moment also handles its ${int(total)} client sockets being closed, so every row ` +
        "includes some of the driver's own delay in seeing the exit (tens of ms).",
    ),
    table(
      [
        { header: 'Library' },
        { header: 'open connections (server count)', align: 'right' },
        { header: 'SIGTERM → exit', align: 'right' },
        { header: 'SIGTERM → exit begins (in the server)', align: 'right' },
        { header: 'last client saw its close', align: 'right' },
        { header: 'closed with FIN / reset', align: 'right' },
        { header: 'exit code', align: 'right' },
      ],
      exitRows,
    ),
    '### Memory per idle connection',
    wrap(
      `(after − before) / ${int(settings.connections)}, lameduck against bare on the same framework. ` +
        '`heapUsed` after two full collections is what JavaScript objects cost (lameduck keeps one small record ' +
        'and one close listener per socket); RSS adds native memory and allocator noise, so small RSS differences ' +
        'mean little.',
    ),
    table(
      [
        { header: 'Framework' },
        { header: 'heap / conn, bare', align: 'right' },
        { header: 'heap / conn, lameduck', align: 'right' },
        { header: 'lameduck extra heap', align: 'right' },
        { header: 'RSS / conn, bare', align: 'right' },
        { header: 'RSS / conn, lameduck', align: 'right' },
        { header: 'lameduck extra RSS', align: 'right' },
      ],
      memoryRows,
    ),
  ].join('\n\n');

  const findings: Finding[] = [];
  for (const [index, variant] of LAMEDUCK_EVERYWHERE.entries()) {
    const run = runs.get(variant)!;
    const floor = runs.get(BARE_EVERYWHERE[index]!)!.ending.ms;
    // lameduck's own share is what it took before the process began to exit; the kernel's work after
    // that is the floor's, with the same sockets open. Single floors are too noisy to subtract.
    const own = Number.isNaN(run.exitCalledMs) ? run.ending.ms - floor : run.exitCalledMs;
    if (run.ending.killed || own > OVER_FLOOR || run.ending.exit.code !== 0) {
      findings.push({
        kind: 'miss',
        text:
          `Idle sockets, ${variantName(variant)}: exit ${run.ending.killed ? 'hung' : `${int(run.ending.ms)} ms`} after ` +
          `SIGTERM (exit code ${describeExit(run.ending)}), of which ${int(own)} ms before the process began to ` +
          `exit (target ≤ ${OVER_FLOOR} ms over the floor). The same server without shutdown code, killed by the ` +
          `signal, took ${int(floor)} ms to exit with the same ${int(total)} sockets open. ` +
          (variant.framework === 'fastify' ? WHY_FASTIFY : WHY_OVER_FLOOR),
      });
    }
    if (run.serverCount !== total) {
      findings.push({
        kind: 'miss',
        text: `Idle sockets, ${variantName(variant)}: the server counted ${run.serverCount} connections, not ${total}.`,
      });
    }
  }
  // The bare rows do the same thing on four frameworks (die with the same sockets open): how far apart they
  // are is the noise of these single runs.
  const floors = BARE_EVERYWHERE.map((variant) => runs.get(variant)!.ending.ms);
  const noise = Math.max(...floors) - Math.min(...floors);
  for (const peer of PEERS_ON_EXPRESS) {
    const lameduck = LAMEDUCK_EVERYWHERE.find((variant) => variant.framework === peer.framework)!;
    const own = runs.get(lameduck)!;
    const run = runs.get(peer)!;
    if (!run.ending.killed && run.ending.ms < own.ending.ms) {
      findings.push({
        kind: 'loss',
        noise: own.ending.ms - run.ending.ms <= noise,
        text:
          `Idle sockets: ${variantName(peer)} exited in ${int(run.ending.ms)} ms, ${variantName(lameduck)} in ` +
          `${int(own.ending.ms)} ms.`,
      });
    }
  }
  const exits = LAMEDUCK_EVERYWHERE.map((variant) => runs.get(variant)!.ending.ms);
  const extraHeap = LAMEDUCK_EVERYWHERE.map(
    (variant, index) =>
      perConnection(runs.get(variant)!, 'heapUsed', settings.connections) -
      perConnection(runs.get(BARE_EVERYWHERE[index]!)!, 'heapUsed', settings.connections),
  );
  return {
    title: `Idle sockets: ${int(settings.connections)} idle keep-alive connections`,
    headline:
      `with ${int(total)} idle keep-alive connections lameduck exited ${int(Math.min(...exits))}–` +
      `${int(Math.max(...exits))} ms after SIGTERM (target ≤ the same server killed outright + ${OVER_FLOOR} ms; those took ` +
      `${int(Math.min(...floors))}–${int(Math.max(...floors))} ms), at ${bytes(Math.min(...extraHeap))}–` +
      `${bytes(Math.max(...extraHeap))} of extra heap per connection`,
    markdown,
    findings,
  };
}
