/** How the tests and the e2e balancers start a runnable example by its name: its package.json script, one `node …` (or `bun`, `deno`) command. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runtimeBinary, type Runtime } from './runtimes.js';

/**
 * Examples served by another script of a folder's package.json: `nestjs-fastify` is examples/nestjs's
 * `start:fastify`; `hono-bun` and `hono-deno` are examples/hono's `start:bun` and `start:deno`, on that runtime.
 */
const VARIANTS: Record<string, { dir: string; script: string; runtime?: Runtime }> = {
  'nestjs-fastify': { dir: 'nestjs', script: 'start:fastify' },
  'hono-bun': { dir: 'hono', script: 'start:bun', runtime: 'bun' },
  'hono-deno': { dir: 'hono', script: 'start:deno', runtime: 'deno' },
};

/**
 * The arguments and the directory to run them in, for `name` (a folder of examples/, or a variant); `command`
 * is the binary for a variant on Bun or Deno (Node's own otherwise).
 */
export function exampleCommand(root: string, name: string): { cwd: string; args: string[]; command?: string } {
  const { dir, script, runtime } = VARIANTS[name] ?? { dir: name, script: 'start' };
  const cwd = join(root, 'examples', dir);
  const manifest = JSON.parse(readFileSync(join(cwd, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const [command, ...args] = (manifest.scripts[script] ?? '').trim().split(/\s+/);
  const expected = runtime ?? 'node';
  if (command !== expected)
    throw new Error(`examples/${dir}: "${script}" is not one ${expected} command: ${manifest.scripts[script]}`);
  return runtime === undefined ? { cwd, args } : { cwd, args, command: runtimeBinary(runtime) };
}
