/** One backend instance: a server process following the examples' contract, started, signalled, awaited. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { exampleCommand } from '@lameduck/test-utils';

/**
 * The workspace root, found from the working directory (Jest runs at the root, `pnpm e2e` in this package):
 * this package is ESM under tsx (no `__dirname`) and CommonJS under Jest (no `import.meta`).
 */
export const ROOT = (() => {
  let dir = process.cwd();
  while (!existsSync(join(dir, 'pnpm-workspace.yaml'))) {
    if (dirname(dir) === dir) throw new Error(`no pnpm-workspace.yaml above ${process.cwd()}`);
    dir = dirname(dir);
  }
  return dir;
})();

/** What runs behind HAProxy: a name for reports, how to start it, and the path HAProxy checks. */
export interface Target {
  name: string;
  /** The binary that runs it: Node's own unless set (Bun's, Deno's). */
  command?: string;
  /** Arguments to `node` (or to `command`). */
  args: string[];
  cwd: string;
  /** Added to the environment (after removing the examples' lameduck variables: defaults unless set here). */
  env?: Record<string, string>;
  /** What `option httpchk` asks for: the readiness route, or `/` for a server without one. */
  checkPath: string;
}

/**
 * The example `name` (a folder of examples/, or a variant such as `hono-bun`), run as its package.json script
 * says, with default options.
 */
export function exampleTarget(name: string, env: Record<string, string> = {}): Target {
  const { cwd, args, command } = exampleCommand(ROOT, name);
  return {
    name: `lameduck (${name})`,
    ...(command === undefined ? {} : { command }),
    args,
    cwd,
    env,
    checkPath: '/readyz',
  };
}

/** The textbook shutdown (src/textbook.ts): `server.close()` on SIGTERM, then exit 0. */
export function textbookTarget(): Target {
  return {
    name: 'textbook server.close()',
    args: ['--import', 'tsx', join(ROOT, 'packages', 'e2e', 'src', 'textbook.ts')],
    cwd: ROOT,
    checkPath: '/',
  };
}

/** A running instance. */
export interface Instance {
  readonly port: number;
  readonly pid: number;
  /** The JSON lines it wrote on stderr (lameduck's logs). */
  readonly logs: Record<string, unknown>[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
}

/** Starts `target` on 127.0.0.1 and a free port; resolves once it printed its listening line. */
export function startInstance(target: Target): Promise<Instance> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1', ...target.env };
  for (const name of ['SHUTDOWN_TIMEOUT_MS', 'READINESS_DELAY_MS']) {
    if (target.env?.[name] === undefined) delete env[name];
  }
  const child = spawn(target.command ?? process.execPath, target.args, {
    cwd: target.cwd,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderr.push(line);
    try {
      logs.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // Not a log line (a stack trace, say): kept in stderr for error messages.
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      let event: { event?: unknown; port?: unknown } = {};
      try {
        event = JSON.parse(line) as typeof event;
      } catch {
        return;
      }
      if (event.event !== 'listening' || typeof event.port !== 'number') return;
      resolve({ port: event.port, pid: child.pid!, logs, exited, kill: (signal) => child.kill(signal) });
    });
    void exited.then(({ code, signal }) =>
      reject(new Error(`${target.name} exited (${code ?? signal}) before listening:\n${stderr.join('\n')}`)),
    );
  });
}
