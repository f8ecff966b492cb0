/** Runs a demo server as a real child process (through @lameduck/test-utils): spawn it, wait for its "listening" line. */
import { fileURLToPath } from 'node:url';
import { spawnChild, type Child, type TimedExit } from '@lameduck/test-utils';

/** How a child process ended, and when (`performance.now()` in this process). */
export type Exit = TimedExit;

/** A running server child. */
export interface ServerProcess {
  readonly port: number;
  readonly exited: Promise<Exit>;
  /** Sends a signal; does nothing once the process has exited. */
  kill(signal: NodeJS.Signals): void;
  readonly child: Child;
}

const STARTUP_TIMEOUT = 15_000;
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

/** `exit code 0`, or `killed by SIGKILL`. */
export function describeExit(exit: Pick<Exit, 'code' | 'signal'>): string {
  return exit.code === null ? `killed by ${exit.signal ?? 'a signal'}` : `exit code ${exit.code}`;
}

/** Resolves to the port of the child's `{"event":"listening","port":N}` line. */
function waitForPort(child: Child): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const listening = new Promise<number>((resolve, reject) => {
    child.onEvent((message) => {
      if (message.event === 'listening' && typeof message.port === 'number') resolve(message.port);
    });
    child.process.once('error', reject);
    void child.timedExit.then((exit) =>
      reject(new Error(`the server exited before listening (${describeExit(exit)})`)),
    );
    timer = setTimeout(
      () => reject(new Error(`the server did not listen within ${STARTUP_TIMEOUT} ms`)),
      STARTUP_TIMEOUT,
    );
  });
  return listening.finally(() => clearTimeout(timer));
}

/**
 * Starts a server child the way the demo's own start script runs (`node` on a TypeScript entry point),
 * its logs shown here; kills it if it does not come up, or when the demo exits.
 */
export async function startServer(entry: URL): Promise<ServerProcess> {
  const args = ['--conditions=@lameduck/source', '--import', 'tsx', fileURLToPath(entry)];
  const child = spawnChild(args, { cwd: PACKAGE_DIR, stderr: 'inherit' });
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  void child.timedExit.then(() => process.off('exit', killOnExit));
  try {
    const port = await waitForPort(child);
    return { port, exited: child.timedExit, kill: (signal) => void child.kill(signal), child };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
}
