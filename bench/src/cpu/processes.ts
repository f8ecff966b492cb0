/** The CPU section's two children: a compiled server process (IPC) pinned to one core, and wrk pinned to another. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Framework } from '../variants.js';
import type { CpuVariant, DriverMessage, ServerMessage, WindowMessage } from './protocol.js';

/** The compiled server (`tsc -p bench/tsconfig.cpu.json`, which `pnpm bench` runs first). */
const ENTRY = fileURLToPath(new URL('../../dist/cpu/server/main.js', import.meta.url));
const STARTUP_TIMEOUT = 30_000;
/** A window that takes longer than this means the server or wrk is stuck. */
const WINDOW_TIMEOUT = 60_000;
const STDERR_LINES = 20;
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function track(child: ChildProcess): Promise<void> {
  running.add(child);
  return new Promise((resolve) => {
    child.once('exit', () => {
      running.delete(child);
      resolve();
    });
  });
}

/** A server process holding the variants of one framework. */
export interface CpuServer {
  port: number;
  /** Serves `variant` from now on; resolves with the `count` requests measured after the next `skip`. */
  measure(variant: CpuVariant, skip: number, count: number): Promise<WindowMessage>;
  /** Heap used after two full collections, once every connection has closed (needs `gc`). */
  heapUsed(): Promise<number>;
  stop(): Promise<void>;
}

export interface CpuServerOptions {
  /** The variants it builds, the first serving from the start. @default every variant of CPU_VARIANTS */
  variants?: readonly CpuVariant[];
  /** Run with `--expose-gc`, for `heapUsed()`. @default false */
  gc?: boolean;
  /** Time each variant's first layer (`server/in-path.ts`), reported per window. @default false */
  inPath?: boolean;
}

/**
 * Starts `node dist/cpu/server/main.js <framework> [variants]` on core `core` (no `--conditions`: the
 * packages' built dist).
 */
export async function startCpuServer(
  framework: Framework,
  core: string,
  { variants, gc = false, inPath = false }: CpuServerOptions = {},
): Promise<CpuServer> {
  if (!existsSync(ENTRY)) throw new Error(`${ENTRY} is missing: run \`pnpm bench\`, which compiles it first`);
  const args = [...(gc ? ['--expose-gc'] : []), ENTRY, framework, ...(variants ? [variants.join(',')] : [])];
  const child = spawn('taskset', ['-c', core, process.execPath, ...args], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { ...process.env, BENCH_IN_PATH: inPath ? '1' : '0' },
  });
  const send = (message: DriverMessage): boolean => child.send(message);
  const exited = track(child);
  const tail: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    tail.push(line);
    if (tail.length > STDERR_LINES) tail.shift();
  });
  const next = (what: string, timeout: number): Promise<ServerMessage> =>
    new Promise((resolve, reject) => {
      const settle = (error: Error | undefined, message?: ServerMessage): void => {
        clearTimeout(timer);
        child.off('exit', onExit);
        child.off('message', onMessage);
        if (error !== undefined) reject(error);
        else resolve(message!);
      };
      const onExit = (): void => settle(new Error(`${framework} server exited before ${what}:\n${tail.join('\n')}`));
      const onMessage = (message: ServerMessage): void =>
        settle(message.type === 'error' ? new Error(message.message) : undefined, message);
      const timer = setTimeout(
        () => settle(new Error(`${framework} server: no ${what} within ${timeout} ms`)),
        timeout,
      );
      child.once('exit', onExit);
      child.once('message', onMessage);
    });
  const stop = async (): Promise<void> => {
    child.kill('SIGKILL');
    await exited;
  };
  try {
    const ready = await next('listening', STARTUP_TIMEOUT);
    if (ready.type !== 'ready') throw new Error(`${framework} server: expected its port, received ${ready.type}`);
    return {
      port: ready.port,
      async measure(variant, skip, count) {
        const reply = next(`window of ${variant}`, WINDOW_TIMEOUT);
        send({ type: 'measure', variant, skip, count });
        const window = await reply;
        if (window.type !== 'window' || window.variant !== variant) {
          throw new Error(`${framework} server: expected a window of ${variant}, received ${JSON.stringify(window)}`);
        }
        return window;
      },
      async heapUsed() {
        const reply = next('heap report', WINDOW_TIMEOUT);
        send({ type: 'memory' });
        const message = await reply;
        if (message.type !== 'memory')
          throw new Error(`${framework} server: expected its heap, received ${message.type}`);
        return message.heapUsed;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** wrk running until stopped. */
export interface Wrk {
  /** Stops it (SIGINT, which makes it print its summary); rejects on socket errors or non-2xx answers. */
  stop(): Promise<void>;
}

/** Starts wrk (one thread, `connections` keep-alive connections, `GET /`) on core `core`, until stopped. */
export function startWrk(port: number, connections: number, core: string): Wrk {
  const args = ['-c', core, 'wrk', '-t1', `-c${connections}`, '-d1h', '--timeout', '10s', `http://127.0.0.1:${port}/`];
  const child = spawn('taskset', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = track(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return {
    async stop() {
      child.kill('SIGINT');
      await exited;
      const failed = /Socket errors:.*|Non-2xx or 3xx responses: \d+/.exec(output);
      if (failed !== null || !output.includes('requests in')) {
        throw new Error(`wrk against the server: ${failed?.[0] ?? 'no summary'}\n${output}`);
      }
    },
  };
}

/** Resolves if wrk and taskset can run here, with the command that installs what is missing otherwise. */
export async function checkTools(): Promise<void> {
  for (const [tool, args] of [
    ['taskset', ['-c', '0', 'true']],
    ['wrk', ['--version']],
  ] as const) {
    const child = spawn(tool, args, { stdio: 'ignore' });
    const ok = await new Promise<boolean>((resolve) => {
      child.once('error', () => resolve(false));
      child.once('exit', () => resolve(true));
    });
    if (!ok)
      throw new Error(
        `${tool} is not installed; on Debian: apt-get install -y ${tool === 'wrk' ? 'wrk' : 'util-linux'}`,
      );
  }
}
