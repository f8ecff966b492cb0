/** `pnpm demo`: a textbook server and a lameduck one under the same keep-alive load, SIGTERM mid-load, compared. */
import { exitOrKill, startLoad, type Load, type Tally } from '@lameduck/test-utils';
import { startServer, type Exit, type ServerProcess } from './child.js';
import { explain, formatTable, type VariantResult } from './report.js';

const CLIENTS = 50;
const SIGTERM_AFTER = 1_000;
const REQUESTS_PER_CLIENT = 2_000;
const LOAD_DURATION = 10_000;
/** Each client alternates a request with work in flight and a quick one. */
const PATHS = ['/work', '/'];
/** A server still running this long after SIGTERM is killed, and reported as such. */
const EXIT_DEADLINE = 12_000;

function subtract(after: Tally, before: Tally): Tally {
  const difference = { ...after };
  for (const key of Object.keys(difference) as (keyof Tally)[]) difference[key] -= before[key];
  return difference;
}

/** Waits for the process to exit; kills it at the deadline. */
async function exitOrKillAt(server: ServerProcess, deadline: number): Promise<Exit & { killed: boolean }> {
  const { exit, killed } = await exitOrKill(server.child, deadline);
  return { ...exit, killed };
}

/** Load until SIGTERM_AFTER responses, SIGTERM, keep the load on until the server exits or refuses, then stop it. */
async function measure(name: string, server: ServerProcess, load: Load): Promise<VariantResult> {
  await Promise.race([
    load.completed(SIGTERM_AFTER),
    server.exited.then(() => Promise.reject(new Error(`${name} exited before SIGTERM`))),
  ]);
  const beforeSigterm = { ...load.tally };
  const sigtermAt = performance.now();
  server.kill('SIGTERM');
  let firstRefusedMs: number | undefined;
  void load.firstRefused.then(() => (firstRefusedMs = Math.round(performance.now() - sigtermAt)));
  const exited = exitOrKillAt(server, sigtermAt + EXIT_DEADLINE);
  await Promise.race([exited, load.firstRefused, load.finished]);
  load.stop();
  const exit = await exited;
  await load.finished;
  return {
    name,
    tally: { ...load.tally },
    afterSigterm: subtract(load.tally, beforeSigterm),
    others: new Map(load.others),
    losses: load.losses.map((loss) => ({ ms: Math.round(loss.at - sigtermAt), reused: loss.reused })),
    firstRefusedMs,
    exitMs: Math.round(exit.at - sigtermAt),
    exit,
  };
}

async function runVariant(name: string, entry: URL): Promise<VariantResult> {
  process.stdout.write(`${name}: load, SIGTERM, wait for exit... `);
  const server = await startServer(entry);
  const load = startLoad({
    port: server.port,
    clients: CLIENTS,
    requestsPerClient: REQUESTS_PER_CLIENT,
    duration: LOAD_DURATION,
    path: (client, sent) => PATHS[(client + sent) % PATHS.length]!,
  });
  try {
    const result = await measure(name, server, load);
    process.stdout.write('done\n');
    return result;
  } finally {
    load.destroy();
    server.kill('SIGKILL');
  }
}

/** Ctrl+C or a SIGTERM to the demo itself: exit through process.exit so the children are killed too. */
function exitOnSignals(): void {
  process.once('SIGINT', () => process.exit(130));
  process.once('SIGTERM', () => process.exit(143));
}

async function main(): Promise<void> {
  exitOnSignals();
  console.log(
    `Each server gets ${CLIENTS} keep-alive clients on 127.0.0.1, SIGTERM after ${SIGTERM_AFTER} responses;` +
      ' the clients stop at the first refused connection. Nothing here routes by readiness (no load balancer),' +
      ' so lameduck runs with readinessDelay: 0, as its README advises for that case.\n',
  );
  const textbook = await runVariant('textbook', new URL('./servers/textbook.ts', import.meta.url));
  const lameduck = await runVariant('lameduck', new URL('./servers/lameduck.ts', import.meta.url));
  console.log(`\n${formatTable([textbook, lameduck])}\n\n${explain(textbook, lameduck)}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
