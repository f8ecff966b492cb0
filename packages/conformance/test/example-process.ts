/** The runnable examples as child processes: started exactly as their `start` scripts say. */
import http from 'node:http';
import { join } from 'node:path';
import { exampleCommand, runtimeBinary, spawnChild, stopChild, type Child, type Runtime } from '@lameduck/test-utils';

const ROOT = join(__dirname, '..', '..', '..');
// SHUTDOWN_TIMEOUT_MS must exceed READINESS_DELAY_MS + cleanupReserve (5000 by default), so not 5000.
const ENV = { PORT: '0', HOST: '127.0.0.1', READINESS_DELAY_MS: '200', SHUTDOWN_TIMEOUT_MS: '10000' };

const children: Child[] = [];

/** The runtime the examples run on: LAMEDUCK_RUNTIME, `node` (this one) unless `bun` or `deno`. */
export const RUNTIME = runtimeNamed(process.env.LAMEDUCK_RUNTIME);

function runtimeNamed(name: string | undefined): 'node' | Runtime {
  if (name === undefined || name === '' || name === 'node' || name === 'bun' || name === 'deno') return name || 'node';
  throw new Error(`LAMEDUCK_RUNTIME: expected node, bun or deno, received ${JSON.stringify(name)}`);
}

/**
 * The examples that run on RUNTIME. Deno 2.9 cannot load @lameduck/nestjs from source (see docs/runtimes.md);
 * examples/nestjs on platform-fastify is run on Node only.
 */
export const RUNTIME_EXAMPLES = ['node-http', 'express', 'fastify', 'koa', 'hono', 'nestjs', 'nestjs-fastify'].filter(
  (name) => RUNTIME === 'node' || (name !== 'nestjs-fastify' && (RUNTIME !== 'deno' || name !== 'nestjs')),
);

/**
 * The command line of an example's script (one `node …` command) on RUNTIME: Bun and Deno run the
 * TypeScript sources themselves (no tsx loader, no Nest compile hook: Bun emits decorator metadata).
 */
function startCommand(name: string): { command: string; args: string[]; cwd: string } {
  const { cwd, args } = exampleCommand(ROOT, name);
  if (RUNTIME === 'node') return { command: process.execPath, args, cwd };
  const entry = args.at(-1)!;
  const conditions = args.filter((arg) => arg.startsWith('--conditions='));
  const runtimeArgs = RUNTIME === 'bun' ? conditions : ['run', '-A', '--sloppy-imports', ...conditions];
  return { command: runtimeBinary(RUNTIME), args: [...runtimeArgs, entry], cwd };
}

/** Runs the example `name` as its package.json script does (`start`, or a variant's), on RUNTIME, from its folder. */
export function startExample(name: string, env: Record<string, string> = {}): Child {
  const { command, args, cwd } = startCommand(name);
  const child = spawnChild(args, { command, cwd, env: { ...ENV, ...env } });
  children.push(child);
  return child;
}

/**
 * Runs examples/<name> under systemd-socket-activate listening on 127.0.0.1:`port`: it execs the example (same
 * pid) on the first connection, with the socket as fd 3 and LISTEN_FDS/LISTEN_PID set. Resolves once it listens.
 */
export async function startActivated(name: string, port: number, env: Record<string, string> = {}): Promise<Child> {
  const { command, args, cwd } = startCommand(name);
  const child = spawnChild(['-l', `127.0.0.1:${port}`, command, ...args], {
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

/**
 * GET `/events` (server-sent events) over `agent`: `first` resolves with the first chunk, `text` with the
 * whole stream once the server ends it.
 */
export function eventStream(port: number, agent: http.Agent): { first: Promise<void>; text: Promise<string> } {
  let first!: () => void;
  const firstChunk = new Promise<void>((resolve) => (first = resolve));
  const text = new Promise<string>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/events', agent }, (res) => {
      let received = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        received += chunk;
        first();
      });
      res.on('end', () => resolve(received));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  return { first: firstChunk, text };
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
