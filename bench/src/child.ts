/** Server children: start one (node + tsx on a file in servers/) on the shared child helper, signal it, time its exit. */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { exitOrKill, hrNow, spawnChild, type Child, type TimedExit } from '@lameduck/test-utils';

export { hrNow };

/** How a child ended, and when, on `process.hrtime` (the machine-wide monotonic clock) in ms. */
export type ChildExit = TimedExit;

/** A line the child printed on stdout, parsed. */
export type ChildMessage = Record<string, unknown>;

/** A running server child. */
export interface ServerChild {
  readonly name: string;
  readonly pid: number;
  readonly port: number;
  readonly exited: Promise<ChildExit>;
  /** Called with every JSON line printed after the listening line; returns an unsubscriber. */
  onMessage(listener: (message: ChildMessage) => void): () => void;
  /** Sends `signal` (no-op once exited); returns when it was sent, in ms on the hrtime clock. */
  kill(signal: NodeJS.Signals): number;
  /** The last lines the child wrote on stderr, for error messages. */
  stderrTail(): string;
  /** The child process itself. */
  readonly child: Child;
}

/** What became of a child once signalled: its exit, or `killed` if it outlived the cap and got SIGKILL. */
export interface Ending {
  exit: ChildExit;
  /** Milliseconds from the signal to the exit. */
  ms: number;
  killed: boolean;
}

const STARTUP_TIMEOUT = 30_000;
const STDERR_LINES = 20;
const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url));
const running = new Set<Child>();

/** `exit 0`, `SIGTERM` (died of the signal), or `killed (SIGKILL)`. */
export function describeExit(ending: Pick<Ending, 'exit' | 'killed'>): string {
  if (ending.killed) return 'hung, SIGKILL';
  return ending.exit.code === null ? `${ending.exit.signal ?? 'signal'}` : `${ending.exit.code}`;
}

/** SIGKILLs every child still running: on errors, and when this process exits for any reason. */
export function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
}
process.on('exit', killAll);

/**
 * Starts `servers/<file>.ts` as a child (`--expose-gc` for `/mem`, `env` added to this process's),
 * resolves once it printed its port; kills it if it does not.
 */
export async function startServer(file: string, env: Record<string, string> = {}): Promise<ServerChild> {
  const entry = fileURLToPath(new URL(`./servers/${file}.ts`, import.meta.url));
  const args = ['--expose-gc', '--conditions=@lameduck/source', '--import', 'tsx', entry];
  const child = spawnChild(args, { cwd: BENCH_DIR, env, clock: hrNow });
  running.add(child);
  void child.timedExit.then(() => running.delete(child));
  const stderrTail = (): string => child.output.stderr.slice(-STDERR_LINES).join('\n');
  let timer: NodeJS.Timeout | undefined;
  const listening = new Promise<number>((resolve, reject) => {
    child.onEvent((message) => {
      if (message.event === 'listening' && typeof message.port === 'number') resolve(message.port);
    });
    child.process.once('error', reject);
    void child.timedExit.then((exit) =>
      reject(new Error(`${file} exited before listening (${exit.code ?? exit.signal}):\n${stderrTail()}`)),
    );
    timer = setTimeout(() => reject(new Error(`${file} did not listen within ${STARTUP_TIMEOUT} ms`)), STARTUP_TIMEOUT);
  }).finally(() => clearTimeout(timer));
  try {
    const port = await listening;
    return {
      name: file,
      pid: child.process.pid!,
      port,
      exited: child.timedExit,
      onMessage: (listener) => child.onEvent(listener),
      kill: (signal) => child.kill(signal),
      stderrTail,
      child,
    };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}

/**
 * Pins a process and all its threads to `cpus` (`"1"`, `"0-1"`) with `taskset`; false where that is
 * impossible (no taskset, not Linux), and the caller goes on unpinned.
 */
export function pin(pid: number, cpus: string): boolean {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Sends SIGTERM and waits for the exit; SIGKILLs the child if it is still running `capMs` later. */
export async function terminate(server: ServerChild, capMs: number): Promise<Ending> {
  const sent = server.kill('SIGTERM');
  return endingAfter(server, sent, capMs);
}

/** The exit of a child signalled at `sent`; SIGKILL once `capMs` have passed since. */
export async function endingAfter(server: ServerChild, sent: number, capMs: number): Promise<Ending> {
  const { exit, killed } = await exitOrKill(server.child, sent + capMs);
  return { exit, ms: exit.at - sent, killed };
}

/** Starts the servers one after another (two cores: a parallel start only slows each down). */
export async function startAll(files: readonly string[], env?: Record<string, string>): Promise<ServerChild[]> {
  const started: ServerChild[] = [];
  try {
    for (const file of files) started.push(await startServer(file, env));
    return started;
  } catch (error) {
    for (const server of started) server.kill('SIGKILL');
    throw error;
  }
}
