/** The Bun and Deno binaries the tests run servers on: from LAMEDUCK_BUN / LAMEDUCK_DENO (set by .ci/run), never skipped. */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The runtimes besides Node, their pinned versions (as in .ci/run) and where .ci/run caches their npm packages. */
const RUNTIMES = {
  bun: { variable: 'LAMEDUCK_BUN', version: '1.4.5', inCache: 'bun-1.4.5/node_modules/@oven/bun-linux-x64/bin/bun' },
  deno: {
    variable: 'LAMEDUCK_DENO',
    version: '2.9.6',
    inCache: 'deno-2.9.6/node_modules/@deno/linux-x64-glibc/deno',
  },
} as const;

export type Runtime = keyof typeof RUNTIMES;

/**
 * The path of `runtime`'s binary: its variable, else .ci/run's cache. Throws, naming the variable, when
 * neither has it: a test that needs Bun or Deno fails clearly rather than passing without it.
 */
export function runtimeBinary(runtime: Runtime): string {
  const { variable, version, inCache } = RUNTIMES[runtime];
  const given = process.env[variable];
  if (given !== undefined && given !== '') {
    if (!existsSync(given)) throw new Error(`${variable}=${JSON.stringify(given)}: no such file`);
    return given;
  }
  const cache =
    process.env.LAMEDUCK_RUNTIMES_CACHE ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'lameduck', 'runtimes');
  const cached = join(cache, inCache);
  if (existsSync(cached)) return cached;
  throw new Error(
    `${runtime} ${version} is needed: set ${variable} to its binary, or run .ci/run once (it installs it into ${cache})`,
  );
}
