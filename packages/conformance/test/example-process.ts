/** The runnable examples as child processes: started exactly as their `start` scripts say. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnChild, stopChild, type Child } from '@lameduck/test-utils';

const EXAMPLES = join(__dirname, '..', '..', '..', 'examples');
// SHUTDOWN_TIMEOUT_MS must exceed READINESS_DELAY_MS + cleanupReserve (5000 by default), so not 5000.
const ENV = { PORT: '0', HOST: '127.0.0.1', READINESS_DELAY_MS: '200', SHUTDOWN_TIMEOUT_MS: '10000' };

const children: Child[] = [];

/** Runs examples/<name> as its package.json `start` script does: one `node …` command, from its folder. */
export function startExample(name: string, env: Record<string, string> = {}): Child {
  const manifest = JSON.parse(readFileSync(join(EXAMPLES, name, 'package.json'), 'utf8')) as {
    scripts: { start: string };
  };
  const [command, ...args] = manifest.scripts.start.trim().split(/\s+/);
  if (command !== 'node') throw new Error(`${name}: "start" is not one node command: ${manifest.scripts.start}`);
  const child = spawnChild(args, { cwd: join(EXAMPLES, name), env: { ...ENV, ...env } });
  children.push(child);
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
