/** Runs a demo server as a real child process: spawn it, wait for its "listening" line, signal it, see it exit. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** How a child process ended, and when (`performance.now()` in this process). */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  at: number;
}

/** A running server child. */
export interface ServerProcess {
  readonly port: number;
  readonly exited: Promise<Exit>;
  /** Sends a signal; does nothing once the process has exited. */
  kill(signal: NodeJS.Signals): void;
}

const STARTUP_TIMEOUT = 15_000;
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

/** Spawns `node` on a TypeScript entry point, the way the demo's own start script runs. */
function spawnTypeScript(entry: URL): ChildProcess {
  const args = ['--conditions=@lameduck/source', '--import', 'tsx', fileURLToPath(entry)];
  return spawn(process.execPath, args, { cwd: PACKAGE_DIR, stdio: ['ignore', 'pipe', 'inherit'] });
}

function whenExited(child: ChildProcess): Promise<Exit> {
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() }));
  });
}

/** Resolves to the port of the child's `{"event":"listening","port":N}` line. */
function waitForPort(child: ChildProcess, exited: Promise<Exit>): Promise<number> {
  const lines = createInterface({ input: child.stdout! });
  let timer: NodeJS.Timeout | undefined;
  const listening = new Promise<number>((resolve, reject) => {
    lines.on('line', (line) => {
      const message = parseLine(line);
      if (message?.event === 'listening' && typeof message.port === 'number') resolve(message.port);
    });
    child.once('error', reject);
    void exited.then((exit) => reject(new Error(`the server exited before listening (${describeExit(exit)})`)));
    timer = setTimeout(
      () => reject(new Error(`the server did not listen within ${STARTUP_TIMEOUT} ms`)),
      STARTUP_TIMEOUT,
    );
  });
  return listening.finally(() => clearTimeout(timer));
}

function parseLine(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** `exit code 0`, or `killed by SIGKILL`. */
export function describeExit(exit: Pick<Exit, 'code' | 'signal'>): string {
  return exit.code === null ? `killed by ${exit.signal ?? 'a signal'}` : `exit code ${exit.code}`;
}

/** Starts a server child; kills it if it does not come up. */
export async function startServer(entry: URL): Promise<ServerProcess> {
  const child = spawnTypeScript(entry);
  const exited = whenExited(child);
  let running = true;
  const kill = (signal: NodeJS.Signals): void => {
    if (running) child.kill(signal);
  };
  const killOnExit = (): void => kill('SIGKILL');
  process.once('exit', killOnExit);
  void exited.then(() => {
    running = false;
    process.off('exit', killOnExit);
  });
  try {
    return { port: await waitForPort(child, exited), exited, kill };
  } catch (error) {
    kill('SIGKILL');
    throw error;
  }
}
