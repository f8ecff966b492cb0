/** Child processes: `node` with arguments, its JSON lines parsed, its exit timed, and an end by a deadline at the latest. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** A JSON object line a child printed. */
export type Line = Record<string, unknown>;

/** How a child ended. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** How a child ended, and when (its `exit` event, on the child's clock). */
export interface TimedExit extends ChildExit {
  at: number;
}

/** What became of a child given until a deadline: its exit, and whether it had to be SIGKILLed. */
export interface Ending {
  exit: TimedExit;
  killed: boolean;
}

export interface SpawnOptions {
  /** The program to run, `node` (this one) by default: `systemd-socket-activate`, `tini`… */
  command?: string;
  /** The node binary to run; this process's by default. */
  node?: string;
  cwd?: string;
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /** `inherit` shows the child's stderr (its logs) here instead of collecting it. */
  stderr?: 'pipe' | 'inherit';
  /** What `TimedExit.at` and `kill()` read. */
  clock?: () => number;
}

/** A child process, with the JSON lines of its stdout (events) and stderr (logs) parsed. */
export interface Child {
  process: ChildProcess;
  events: Line[];
  logs: Line[];
  /** Every line written so far, JSON or not. */
  output: { stdout: string[]; stderr: string[] };
  /** Resolves with the first stdout event that matches; rejects if the process ends first. */
  event(match: (line: Line) => boolean): Promise<Line>;
  /** Resolves with the first stderr log line that matches; rejects if the process ends first. */
  log(match: (line: Line) => boolean): Promise<Line>;
  /** Calls `listener` with every stdout event from now on; returns the unsubscriber. */
  onEvent(listener: (line: Line) => void): () => void;
  /** Resolves once the child has exited and its output has been read to the end. */
  exited: Promise<ChildExit>;
  /** Resolves at the child's `exit` event, with its time on the clock. */
  timedExit: Promise<TimedExit>;
  /** False once the child has exited. */
  readonly running: boolean;
  /** The clock of `timedExit` and `kill()`: `performance.now()` unless the spawn said otherwise. */
  readonly clock: () => number;
  /** Sends `signal` unless the child has exited; returns when, on the clock. */
  kill(signal: NodeJS.Signals): number;
}

/** Milliseconds on the monotonic clock `process.hrtime` reads, the same clock in every process. */
export const hrNow = (): number => Number(process.hrtime.bigint()) / 1e6;

function parseLine(text: string): Line | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Line) : undefined;
  } catch {
    return undefined;
  }
}

/** The environment of a child: this one's, `extra`, and with LAMEDUCK_WITHOUT_NODE_INTERNALS=1 the preload that forces it on every Node child. */
function childEnv(extra: Record<string, string> | undefined): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  if (env.LAMEDUCK_WITHOUT_NODE_INTERNALS !== '1') return env;
  const preload = `--require=${join(__dirname, 'without-internals.cjs')}`;
  if (!(env.NODE_OPTIONS ?? '').includes(preload)) env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} ${preload}`.trim();
  return env;
}

/** Runs `node <args>`. */
export function spawnChild(args: string[], options: SpawnOptions = {}): Child {
  const clock = options.clock ?? (() => performance.now());
  const child = spawn(options.command ?? options.node ?? process.execPath, args, {
    cwd: options.cwd,
    env: childEnv(options.env),
    stdio: ['ignore', 'pipe', options.stderr ?? 'pipe'],
  });
  const events: Line[] = [];
  const logs: Line[] = [];
  const output = { stdout: [] as string[], stderr: [] as string[] };
  const listeners = new Set<(line: Line) => void>();
  const waiters: { from: Line[]; match: (line: Line) => boolean; resolve: (line: Line) => void }[] = [];
  const feed = (into: Line[], raw: string[]) => (text: string) => {
    raw.push(text);
    const line = parseLine(text);
    if (line === undefined) return;
    into.push(line);
    if (into === events) for (const listener of listeners) listener(line);
    for (const waiter of [...waiters]) {
      if (waiter.from === into && waiter.match(line)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  };
  createInterface({ input: child.stdout! }).on('line', feed(events, output.stdout));
  if (child.stderr !== null) createInterface({ input: child.stderr }).on('line', feed(logs, output.stderr));
  let running = true;
  const isRunning = (): boolean => running && child.exitCode === null && child.signalCode === null;
  const timedExit = new Promise<TimedExit>((resolve) => {
    child.once('exit', (code, signal) => {
      running = false;
      resolve({ code, signal, at: clock() });
    });
  });
  // 'close', not 'exit': the streams are read to their end by then.
  const exited = new Promise<ChildExit>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  const wait = (from: Line[]) => (match: (line: Line) => boolean) => {
    const found = from.find(match);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise<Line>((resolve, reject) => {
      waiters.push({ from, match, resolve });
      void exited.then(({ code, signal }) =>
        reject(
          new Error(`child exited (${code ?? signal}) before the awaited line; stderr:\n${output.stderr.join('\n')}`),
        ),
      );
    });
  };
  return {
    process: child,
    events,
    logs,
    output,
    event: wait(events),
    log: wait(logs),
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    exited,
    timedExit,
    get running() {
      return isRunning();
    },
    clock,
    kill(signal) {
      const at = clock();
      if (isRunning()) child.kill(signal);
      return at;
    },
  };
}

/** Waits for the child to exit until `deadline` (on its clock); SIGKILLs it then, and waits for that exit. */
export async function exitOrKill(child: Child, deadline: number): Promise<Ending> {
  const { clock } = child;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, deadline - clock()), 'late');
  });
  const first = await Promise.race([child.timedExit, late]);
  clearTimeout(timer);
  if (first !== 'late') return { exit: first, killed: false };
  child.kill('SIGKILL');
  return { exit: await child.timedExit, killed: true };
}

/** For the end of a test: SIGKILLs the child if it is still running, and waits until it has exited. */
export async function stopChild(child: Child): Promise<void> {
  if (child.running) child.kill('SIGKILL');
  await child.exited;
}
