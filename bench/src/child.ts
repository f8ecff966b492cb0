/** Server children: spawn one (node + tsx on a file in servers/), read its JSON lines, signal it, time its exit. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** How a child ended, and when, on `process.hrtime` (the machine-wide monotonic clock) in ms. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
}

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
const running = new Set<ChildProcess>();

/** Milliseconds on the monotonic clock `process.hrtime` reads, the same clock in every process. */
export const hrNow = (): number => Number(process.hrtime.bigint()) / 1e6;

function parse(line: string): ChildMessage | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null ? (value as ChildMessage) : undefined;
  } catch {
    return undefined;
  }
}

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
  const child = spawn(process.execPath, args, {
    cwd: BENCH_DIR,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const exited = new Promise<ChildExit>((resolve) => {
    child.once('exit', (code, signal) => {
      const at = hrNow();
      running.delete(child);
      resolve({ code, signal, at });
    });
  });
  const tail: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    tail.push(line);
    if (tail.length > STDERR_LINES) tail.shift();
  });
  const listeners = new Set<(message: ChildMessage) => void>();
  let timer: NodeJS.Timeout | undefined;
  const listening = new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const message = parse(line);
      if (message === undefined) return;
      if (message.event === 'listening' && typeof message.port === 'number') resolve(message.port);
      for (const listener of listeners) listener(message);
    });
    child.once('error', reject);
    void exited.then((exit) =>
      reject(new Error(`${file} exited before listening (${exit.code ?? exit.signal}):\n${tail.join('\n')}`)),
    );
    timer = setTimeout(() => reject(new Error(`${file} did not listen within ${STARTUP_TIMEOUT} ms`)), STARTUP_TIMEOUT);
  }).finally(() => clearTimeout(timer));
  try {
    const port = await listening;
    return {
      name: file,
      pid: child.pid!,
      port,
      exited,
      onMessage(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      kill(signal) {
        const at = hrNow();
        if (running.has(child)) child.kill(signal);
        return at;
      },
      stderrTail: () => tail.join('\n'),
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
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, sent + capMs - hrNow()), 'late');
  });
  const first = await Promise.race([server.exited, late]);
  clearTimeout(timer);
  if (first !== 'late') return { exit: first, ms: first.at - sent, killed: false };
  server.kill('SIGKILL');
  const exit = await server.exited;
  return { exit, ms: exit.at - sent, killed: true };
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
