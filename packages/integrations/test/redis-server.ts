/** A real Redis (Debian's `redis-server`) for one test file: on a unix socket in a temporary folder, stopped at the end. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

/** A running Redis: where to connect, and how to stop it. */
export interface RedisServer {
  /** The unix socket to connect to (`{ path }` in ioredis and BullMQ's `connection`). */
  socket: string;
  /** Stops it (SIGTERM, then waits for its exit) and removes its folder. */
  stop(): Promise<void>;
}

/** The binary: `LAMEDUCK_REDIS_SERVER`, or `redis-server` on PATH (what `.ci/run` installs from Debian). */
const BINARY = process.env.LAMEDUCK_REDIS_SERVER ?? 'redis-server';

/**
 * Starts `redis-server` with no TCP port (`--port 0`: a unix socket only, so no port to pick or race for) and
 * no persistence, and resolves once it accepts connections. Rejects, saying what to install, when the binary
 * is missing.
 */
export function startRedis(): Promise<RedisServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'lameduck-redis-'));
  const socket = path.join(dir, 'redis.sock');
  const child = spawn(
    BINARY,
    [
      '--port',
      '0',
      '--unixsocket',
      socket,
      '--unixsocketperm',
      '700',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output: string[] = [];
  // A test that gives up waiting for it (a timed-out beforeAll) never calls stop(): it ends with the test process.
  const orphaned = (): void => void child.kill('SIGTERM');
  process.once('exit', orphaned);
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  void exited.then(() => process.off('exit', orphaned));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  return new Promise((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      rmSync(dir, { recursive: true, force: true });
      const missing = error.code === 'ENOENT';
      reject(
        new Error(
          missing
            ? `redis-server not found (${BINARY}): install Debian's redis-server (.ci/run does) or set LAMEDUCK_REDIS_SERVER`
            : `redis-server did not start: ${error.message}`,
        ),
      );
    });
    child.once('exit', (code, signal) => {
      reject(new Error(`redis-server exited before it was ready (${code ?? signal}):\n${output.join('\n')}`));
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      output.push(line);
      // 7.0 says "The server is now ready to accept connections at <socket>", 7.2 "Ready to accept connections unix".
      if (/ready to accept connections/i.test(line)) resolve({ socket, stop });
    });
    createInterface({ input: child.stderr }).on('line', (line) => output.push(line));
  });
}
