/** Section 5: 1,000 open WebSockets (ws on the HTTP server), SIGTERM to exit, and the close code each client saw. */
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { describeExit, hrNow, startServer, terminate, type Ending } from './child.js';
import { int, range, table, wrap } from './report/markdown.js';
import type { Finding, Progress, SectionReport } from './report/section.js';
import { max, median, min } from './stats.js';
import { WEBSOCKET_VARIANTS, variantName, type Variant } from './variants.js';

export interface WebSocketSettings {
  clients: number;
  /** Clients connecting at a time. */
  batch: number;
  repeats: number;
}

interface WebSocketRun {
  ending: Ending;
  /** Close codes the clients saw, and how many saw each. */
  codes: Map<number, number>;
  /** From SIGTERM until the last client's `close` event (ms); NaN if some never closed. */
  lastCloseMs: number;
}

/** A server still running this long after SIGTERM is killed (the textbook close hangs for ever without closers). */
const CAP = 10_000;

interface Client {
  closed: Promise<{ code: number; at: number }>;
}

function connect(port: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/`);
    const closed = new Promise<{ code: number; at: number }>((done) => {
      socket.once('close', (code) => done({ code, at: hrNow() }));
    });
    socket.on('error', (error) => reject(error));
    socket.once('open', () => resolve({ closed }));
  });
}

async function webSocketOnce(variant: Variant, settings: WebSocketSettings): Promise<WebSocketRun> {
  const server = await startServer(variant.file, { BENCH_WEBSOCKETS: '1' });
  try {
    const clients: Client[] = [];
    while (clients.length < settings.clients) {
      const size = Math.min(settings.batch, settings.clients - clients.length);
      clients.push(...(await Promise.all(Array.from({ length: size }, () => connect(server.port)))));
    }
    const ending = await terminate(server, CAP);
    const sent = ending.exit.at - ending.ms;
    const closes = await Promise.race([Promise.all(clients.map((client) => client.closed)), sleep(CAP).then(() => [])]);
    const codes = new Map<number, number>();
    for (const { code } of closes) codes.set(code, (codes.get(code) ?? 0) + 1);
    const lastCloseMs = closes.length === clients.length ? max(closes.map(({ at }) => at)) - sent : NaN;
    return { ending, codes, lastCloseMs };
  } finally {
    server.kill('SIGKILL');
  }
}

function stat(values: number[], unit = ''): string {
  const middle = `${int(median(values))}${unit}`;
  const spread = range(int(min(values)), int(max(values)));
  return values.length === 1 || spread === int(median(values)) ? middle : `${middle} (${spread})`;
}

const count = (run: WebSocketRun, code: number): number => run.codes.get(code) ?? 0;
const otherCodes = (run: WebSocketRun): number =>
  [...run.codes].filter(([code]) => code !== 1001 && code !== 1006).reduce((total, [, n]) => total + n, 0);

/** Runs section 5 and renders it. */
export async function runWebSockets(settings: WebSocketSettings, progress: Progress): Promise<SectionReport> {
  const runs = new Map<Variant, WebSocketRun[]>(WEBSOCKET_VARIANTS.map((variant) => [variant, []]));
  for (let repeat = 0; repeat < settings.repeats; repeat++) {
    progress(`websockets: repetition ${repeat + 1}/${settings.repeats}`);
    for (const variant of WEBSOCKET_VARIANTS) runs.get(variant)!.push(await webSocketOnce(variant, settings));
  }
  const rows = WEBSOCKET_VARIANTS.map((variant) => {
    const list = runs.get(variant)!;
    const hung = list.filter((run) => run.ending.killed).length;
    return [
      variantName(variant, false),
      hung > 0
        ? `${hung}/${list.length} hung > ${CAP / 1000} s`
        : stat(
            list.map((run) => run.ending.ms),
            ' ms',
          ),
      list.some((run) => Number.isNaN(run.lastCloseMs))
        ? 'not all closed'
        : stat(
            list.map((run) => run.lastCloseMs),
            ' ms',
          ),
      stat(list.map((run) => count(run, 1001))),
      stat(list.map((run) => count(run, 1006))),
      stat(list.map(otherCodes)),
      [...new Set(list.map((run) => describeExit(run.ending)))].join(', '),
    ];
  });
  const markdown = [
    wrap(
      `An Express server child with a \`ws\` \`WebSocketServer({ server })\`; the driver opens ${int(settings.clients)} ` +
        `WebSocket clients (${settings.batch} at a time, each waiting for \`open\`), then sends SIGTERM, times the ` +
        'exit and records the close code each client saw: 1001 ("going away", a close handshake) or 1006 (the ' +
        'connection dropped without one). lameduck registers the closer ' +
        "`lameduck.addCloser(() => { for (const c of wss.clients) c.close(1001, 'server shutting down') })`; the " +
        'textbook server runs the same loop by hand before `server.close()` (without it, `server.close()` waits ' +
        'for ever: upgraded sockets still count as connections). The peers are configured as in the other sections ' +
        'and have no WebSocket hook of their own (one could close the clients in terminus’s `beforeShutdown` or ' +
        `http-graceful-shutdown's \`preShutdown\`). ${settings.repeats} repetitions, median (min–max); a server still ` +
        `running ${CAP / 1000} s after SIGTERM is killed.`,
    ),
    table(
      [
        { header: 'Library (Express + ws)' },
        { header: 'SIGTERM → exit', align: 'right' },
        { header: 'last client closed', align: 'right' },
        { header: 'clients saw 1001', align: 'right' },
        { header: 'clients saw 1006', align: 'right' },
        { header: 'other codes', align: 'right' },
        { header: 'exit code', align: 'right' },
      ],
      rows,
    ),
  ].join('\n\n');

  const lameduck = runs.get(WEBSOCKET_VARIANTS[0]!)!;
  const findings: Finding[] = [];
  if (
    lameduck.some((run) => count(run, 1001) !== settings.clients || run.ending.killed || run.ending.exit.code !== 0)
  ) {
    findings.push({
      kind: 'miss',
      text: `WebSockets: not every lameduck client saw 1001 or the exit was not clean (${lameduck.map((run) => `${count(run, 1001)} × 1001, ${describeExit(run.ending)}`).join('; ')}).`,
    });
  }
  const lameduckExits = lameduck.map((run) => run.ending.ms);
  const lameduckExit = median(lameduckExits);
  for (const peer of WEBSOCKET_VARIANTS.slice(1)) {
    const list = runs.get(peer)!;
    if (list.some((run) => run.ending.killed)) continue;
    const exits = list.map((run) => run.ending.ms);
    if (median(exits) < lameduckExit) {
      const polite = list.every((run) => count(run, 1001) === settings.clients);
      findings.push({
        kind: 'loss',
        noise: polite && min(lameduckExits) <= max(exits),
        text:
          `WebSockets: ${variantName(peer)} exited sooner (median ${int(median(exits))} ms against lameduck's ` +
          `${int(lameduckExit)} ms)` +
          (polite ? '.' : ', by dropping the connections without a close frame (its clients saw 1006, not 1001).'),
      });
    }
  }
  const polite = lameduck.every((run) => count(run, 1001) === settings.clients);
  return {
    title: `WebSockets: exit with ${int(settings.clients)} open connections`,
    headline: `with ${int(settings.clients)} open WebSockets lameduck exited in ${int(lameduckExit)} ms (median), ${polite ? 'every' : 'not every'} client seeing 1001`,
    markdown,
    findings,
  };
}
