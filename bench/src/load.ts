/** Section 4: keep-alive clients hammering across SIGTERM; what each request became, exit time and code. */
import { startLoad, type Tally } from '@lameduck/test-utils';
import { describeExit, hrNow, startServer, terminate, type Ending } from './child.js';
import { bullets, int, range, table, wrap } from './report/markdown.js';
import type { Finding, Progress, SectionReport } from './report/section.js';
import { max, median, min } from './stats.js';
import {
  EXPRESS_LAMEDUCK_DEFAULT,
  LAMEDUCK_EVERYWHERE,
  PEERS_ON_EXPRESS,
  variantName,
  type Variant,
} from './variants.js';

export interface LoadSettings {
  clients: number;
  /** SIGTERM once this many responses have completed. */
  sigtermAfter: number;
  repeats: number;
}

interface LoadRun {
  tally: Tally;
  /** Completed responses after SIGTERM was sent. */
  completedAfter: number;
  others: Map<string, number>;
  /** When each reset happened, in ms after SIGTERM (before it: negative). */
  resetTimes: number[];
  ending: Ending;
}

/** No client starts a request later than this after SIGTERM. */
const LOAD_CAP = 10_000;
/** A server still running this long after SIGTERM is killed. */
const EXIT_CAP = 15_000;
const PATHS = ['/', '/work'];
/** lameduck's default `readinessDelay`, when the delayed row's listener closes (ms after SIGTERM). */
const DEFAULT_DELAY = 5_000;

/**
 * Starts the clients (each its own `http.Agent({ keepAlive: true, maxSockets: 1 })`, alternating `GET /`
 * and `GET /work`), sends SIGTERM after `sigtermAfter` responses, and stops every client at the first
 * refused connection (the listener is closed: a load balancer would have moved on), when the server
 * exits, or `LOAD_CAP` after SIGTERM.
 */
async function loadOnce(variant: Variant, settings: LoadSettings): Promise<LoadRun> {
  const server = await startServer(variant.file);
  const load = startLoad({
    port: server.port,
    clients: settings.clients,
    path: (client, sent) => PATHS[(client + sent) % PATHS.length]!,
    onRefused: 'all',
    clock: hrNow,
  });
  try {
    await Promise.race([
      load.completed(settings.sigtermAfter),
      server.exited.then(() => Promise.reject(new Error(`${variant.file} exited before SIGTERM`))),
      load.finished.then(() => Promise.reject(new Error(`${variant.file}: the load ended before SIGTERM`))),
    ]);
    const completedAtSigterm = load.tally.completed;
    const sent = hrNow();
    const cap = setTimeout(() => load.stop(), LOAD_CAP);
    const ending = terminate(server, EXIT_CAP);
    void ending.then(() => load.stop());
    await load.finished;
    clearTimeout(cap);
    const result = await ending;
    return {
      tally: { ...load.tally },
      completedAfter: load.tally.completed - completedAtSigterm,
      others: new Map(load.others),
      resetTimes: load.losses.map((loss) => loss.at - sent),
      ending: result,
    };
  } finally {
    load.stop();
    load.destroy();
    server.kill('SIGKILL');
  }
}

/**
 * When the resets of the delayed row happened: at the listener's close (5 s after SIGTERM) they are the
 * kernel's, from its accept backlog; any other time would be lameduck's and is said so.
 */
function resetWindow(runs: LoadRun[]): string {
  const times = runs.flatMap((run) => run.resetTimes);
  if (times.length === 0) return '';
  const window = `${range(int(min(times)), int(max(times)))} ms after SIGTERM`;
  if (min(times) >= DEFAULT_DELAY - 50 && max(times) <= DEFAULT_DELAY + 500) {
    return `They all happened ${window}, as the listener closed: lameduck never read a byte of those requests. `;
  }
  return `They happened ${window}, not only as the listener closed: some are not explained by the backlog and need a look. `;
}

const resets = (run: LoadRun): number => run.tally.lostReused + run.tally.lostNew;

function stat(runs: LoadRun[], value: (run: LoadRun) => number): string {
  const values = runs.map(value);
  const middle = int(median(values));
  const spread = range(int(min(values)), int(max(values)));
  return spread === middle ? middle : `${middle} (${spread})`;
}

function exitCell(runs: LoadRun[]): string {
  if (runs.some((run) => run.ending.killed)) {
    return `${runs.filter((run) => run.ending.killed).length}/${runs.length} hung > ${EXIT_CAP / 1000} s`;
  }
  return `${stat(runs, (run) => run.ending.ms)} ms`;
}

/** What explains the peers' resets and exits, said only where the numbers show it. */
function notes(runs: Map<Variant, LoadRun[]>): string {
  const of = (library: Variant['library']): LoadRun[] =>
    [...runs].find(([variant]) => variant.library === library && variant.framework !== 'node:http')?.[1] ?? [];
  const reused = (library: Variant['library']): number => max(of(library).map((run) => run.tally.lostReused));
  const items: string[] = [];
  if (reused('textbook') > 0 || reused('hgs') > 0 || reused('close-with-grace') > 0) {
    items.push(
      'Resets on reused connections (textbook, http-graceful-shutdown, Fastify `close()`): at SIGTERM they ' +
        'destroy every keep-alive socket that is idle at that instant (Node ≥ 19 `server.close()` does it itself), ' +
        'including sockets on which a client has just written its next request.',
    );
  }
  if (reused('terminus') > 0) {
    items.push(
      'terminus (through stoppable) ends each socket after its in-flight response without sending ' +
        '`Connection: close`, so the client writes its next request on a socket the server is closing.',
    );
  }
  if (max(of('terminator').map((run) => run.tally.lostNew)) > 0) {
    items.push(
      'http-terminator keeps the listener open until every socket is gone and destroys each new connection ' +
        'meanwhile: clients that reconnect after its `Connection: close` are reset, again and again, instead of refused.',
    );
  }
  if (min(of('textbook').map((run) => run.ending.ms)) > 4_000) {
    items.push(
      "textbook: after `server.close()`, keep-alive sockets that were busy stay open until Node's 5 s " +
        '`keepAliveTimeout`.',
    );
  }
  if (min(of('close-with-grace').map((run) => run.ending.ms)) > 5_000) {
    items.push(
      "Fastify `close()` + close-with-grace: keep-alive sockets busy at SIGTERM hold `close()` open (Fastify's " +
        "`keepAliveTimeout` is 72 s) until close-with-grace's 10 s delay exits 1.",
    );
  }
  return items.length === 0 ? '' : bullets(items);
}

/** Runs section 4 and renders it. */
export async function runLoad(settings: LoadSettings, progress: Progress): Promise<SectionReport> {
  const variants = [...LAMEDUCK_EVERYWHERE, EXPRESS_LAMEDUCK_DEFAULT, ...PEERS_ON_EXPRESS];
  const runs = new Map<Variant, LoadRun[]>(variants.map((variant) => [variant, []]));
  for (let repeat = 0; repeat < settings.repeats; repeat++) {
    // Repetitions interleaved, so that a busy minute on the shared machine does not hit one library only.
    progress(`load: repetition ${repeat + 1}/${settings.repeats}`);
    for (const variant of variants) runs.get(variant)!.push(await loadOnce(variant, settings));
  }

  const rows = variants.map((variant) => {
    const list = runs.get(variant)!;
    const others = new Map<string, number>();
    for (const run of list) for (const [what, n] of run.others) others.set(what, (others.get(what) ?? 0) + n);
    return [
      variantName(variant),
      stat(list, (run) => run.completedAfter),
      stat(list, (run) => run.tally.rejected),
      stat(list, (run) => run.tally.refused),
      stat(list, (run) => run.tally.lostReused),
      stat(list, (run) => run.tally.lostNew),
      others.size === 0 ? '0' : [...others].map(([what, n]) => `${what} ×${n}`).join(', '),
      exitCell(list),
      [...new Set(list.map((run) => describeExit(run.ending)))].join(', '),
    ];
  });

  const main = runs.get(LAMEDUCK_EVERYWHERE[0]!)!;
  const delayed = runs.get(EXPRESS_LAMEDUCK_DEFAULT)!;
  const markdown = [
    wrap(
      `${settings.clients} clients in the driver process, each with its own \`http.Agent({ keepAlive: true, ` +
        'maxSockets: 1 })`, send requests back to back, alternating `GET /` (hello world) and `GET /work` ' +
        `(20–50 ms of async work). SIGTERM goes to the server child after ${int(settings.sigtermAfter)} responses. ` +
        'Every client stops at the first refused connection (the listener is closed: a load balancer would have ' +
        `moved on), when the server exits, or ${LOAD_CAP / 1000} s after SIGTERM; a server still running ` +
        `${EXIT_CAP / 1000} s after SIGTERM is killed. ${settings.repeats} repetitions, interleaved; cells show the ` +
        'median and (min–max). "completed" counts 2xx responses after SIGTERM; "refused" (ECONNREFUSED) means ' +
        'no byte was sent, harmless; a "reset" is ECONNRESET, EPIPE, a hang-up or a body cut short, split by ' +
        "`req.reusedSocket`: on a reused keep-alive connection (the client's request may have been read) or on a " +
        'new connection. Target for lameduck: 0 resets.',
    ),
    table(
      [
        { header: 'Library' },
        { header: 'completed after SIGTERM', align: 'right' },
        { header: '503', align: 'right' },
        { header: 'refused', align: 'right' },
        { header: 'reset, reused conn', align: 'right' },
        { header: 'reset, new conn', align: 'right' },
        { header: 'other', align: 'right' },
        { header: 'SIGTERM → exit', align: 'right' },
        { header: 'exit code', align: 'right' },
      ],
      rows,
    ),
    wrap(
      `⚑ The fixed \`readinessDelay: 5000\` row (the default before \`"auto"\`) is not a configuration this benchmark should use, and it is shown ` +
        `to explain why. With no load balancer in front, nothing moves traffic away during the delay, and every ` +
        `response carries \`Connection: close\`, so all ${settings.clients} clients reconnect after every response ` +
        `for 5 s (${stat(delayed, (run) => run.completedAfter)} responses after SIGTERM against ` +
        `${stat(main, (run) => run.completedAfter)} with no delay). When the listener finally closes, the ` +
        'connections the kernel had queued in the accept backlog but Node had not accepted yet are reset by the ' +
        `kernel: ${stat(delayed, (run) => run.tally.lostNew)} resets on new connections, ${stat(delayed, (run) => run.tally.lostReused)} on reused ones. ` +
        `${resetWindow(delayed)}Behind a load balancer that honours readiness, the delay ` +
        "is what stops those connections from being opened at all. With `readinessDelay: 0` (the docs' advice " +
        'when nothing routes by readiness) the listener closes at once and a request arriving on an open keep-alive ' +
        'connection is still served, its response closing the connection.',
    ),
    notes(runs),
  ]
    .filter((part) => part !== '')
    .join('\n\n');

  const findings: Finding[] = [];
  for (const variant of LAMEDUCK_EVERYWHERE) {
    const list = runs.get(variant)!;
    const lost = list.map(resets);
    if (max(lost) > 0 || list.some((run) => run.ending.killed || run.ending.exit.code !== 0)) {
      findings.push({
        kind: 'miss',
        text:
          `Shutdown under load, ${variantName(variant)}: resets per run ${lost.join(', ')} ` +
          `(reused ${list.map((run) => run.tally.lostReused).join(', ')}; new ${list.map((run) => run.tally.lostNew).join(', ')}), ` +
          `exit ${list.map((run) => describeExit(run.ending)).join(', ')} (target: 0 resets).`,
      });
    }
  }
  for (const peer of PEERS_ON_EXPRESS) {
    const lameduck = LAMEDUCK_EVERYWHERE.find((variant) => variant.framework === peer.framework)!;
    const own = runs.get(lameduck)!;
    const list = runs.get(peer)!;
    if (median(list.map(resets)) < median(own.map(resets))) {
      findings.push({
        kind: 'loss',
        text:
          `Shutdown under load: ${variantName(peer)} had fewer resets (median ${median(list.map(resets))}) than ` +
          `${variantName(lameduck)} (${median(own.map(resets))}).`,
      });
    }
    const exits = list.map((run) => run.ending.ms);
    const ownExits = own.map((run) => run.ending.ms);
    if (!list.some((run) => run.ending.killed) && median(exits) < median(ownExits)) {
      findings.push({
        kind: 'loss',
        noise: min(ownExits) <= max(exits),
        text:
          `Shutdown under load: ${variantName(peer)} exited sooner after SIGTERM (median ${int(median(exits))} ms, ` +
          `${range(int(min(exits)), int(max(exits)))}) than ${variantName(lameduck)} (${int(median(ownExits))} ms, ` +
          `${range(int(min(ownExits)), int(max(ownExits)))}).`,
      });
    }
  }
  const lameduckResets = LAMEDUCK_EVERYWHERE.flatMap((variant) => runs.get(variant)!.map(resets));
  return {
    title: 'Shutdown under load',
    headline:
      `under keep-alive load lameduck (\`readinessDelay: 0\`) reset ${max(lameduckResets)} requests at most in ` +
      `${lameduckResets.length} runs (target 0)`,
    markdown,
    findings,
  };
}
