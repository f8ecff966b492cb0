/** How the tests and the e2e balancers start a runnable example by its name: its package.json script, one `node …` command. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Examples served by another script of a folder's package.json: `nestjs-fastify` is examples/nestjs's `start:fastify`. */
const VARIANTS: Record<string, { dir: string; script: string }> = {
  'nestjs-fastify': { dir: 'nestjs', script: 'start:fastify' },
};

/** `node`'s arguments and the directory to run them in, for `name` (a folder of examples/, or a variant). */
export function exampleCommand(root: string, name: string): { cwd: string; args: string[] } {
  const { dir, script } = VARIANTS[name] ?? { dir: name, script: 'start' };
  const cwd = join(root, 'examples', dir);
  const manifest = JSON.parse(readFileSync(join(cwd, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const [command, ...args] = (manifest.scripts[script] ?? '').trim().split(/\s+/);
  if (command !== 'node')
    throw new Error(`examples/${dir}: "${script}" is not one node command: ${manifest.scripts[script]}`);
  return { cwd, args };
}
