/** The runnable examples as child processes: started exactly as their `start` scripts say. */
import { join } from 'node:path';
import { exampleCommand, spawnChild, stopChild, type Child } from '@lameduck/test-utils';

const ROOT = join(__dirname, '..', '..', '..');
// SHUTDOWN_TIMEOUT_MS must exceed READINESS_DELAY_MS + cleanupReserve (5000 by default), so not 5000.
const ENV = { PORT: '0', HOST: '127.0.0.1', READINESS_DELAY_MS: '200', SHUTDOWN_TIMEOUT_MS: '10000' };

const children: Child[] = [];

/** Runs the example `name` as its package.json script does (`start`, or a variant's): one `node …` command, from its folder. */
export function startExample(name: string, env: Record<string, string> = {}): Child {
  const { cwd, args } = exampleCommand(ROOT, name);
  const child = spawnChild(args, { cwd, env: { ...ENV, ...env } });
  children.push(child);
  return child;
}

/**
 * Runs examples/<name> under systemd-socket-activate listening on 127.0.0.1:`port`: it execs the example (same
 * pid) on the first connection, with the socket as fd 3 and LISTEN_FDS/LISTEN_PID set. Resolves once it listens.
 */
export async function startActivated(name: string, port: number, env: Record<string, string> = {}): Promise<Child> {
  const { cwd, args } = exampleCommand(ROOT, name);
  const child = spawnChild(['-l', `127.0.0.1:${port}`, process.execPath, ...args], {
    command: 'systemd-socket-activate',
    cwd,
    env: { ...ENV, ...env },
  });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.process.stderr!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('Listening on ')) resolve();
    });
    void child.exited.then(() =>
      reject(new Error(`systemd-socket-activate exited: ${child.output.stderr.join('\n')}`)),
    );
  });
  return child;
}

/** Kills (SIGKILL) every example a test left running and waits for it: call from afterEach. */
export async function stopExamples(): Promise<void> {
  for (const child of children.splice(0)) await stopChild(child);
}

/** The example's port, from its `listening` line. */
export async function listening(example: Child): Promise<number> {
  const line = await example.event((event) => event.event === 'listening');
  return line.port as number;
}
