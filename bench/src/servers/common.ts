/** What every benchmark server shares: its routes' work, scenario settings from env, and the lines it prints. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocketServer } from 'ws';

/** The body of `GET /`, the hello world every overhead run measures. */
export const HELLO = 'hello world';

/** The child's memory and open connections, after a full garbage collection (`--expose-gc`). */
export interface MemoryReport {
  rss: number;
  heapUsed: number;
  /** `server.getConnections()`: every open socket, the one asking included. */
  connections: number;
}

function print(message: Record<string, unknown>): void {
  // Synchronous for pipes on Linux: a line printed before process.exit() is never lost.
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

function whole(value: unknown, name: string): number {
  const text = Array.isArray(value) ? value[0] : value;
  const number = Number(text);
  if (typeof text !== 'string' || !Number.isInteger(number) || number < 0) {
    throw new Error(`${name} must be a whole number; received ${JSON.stringify(value)}`);
  }
  return number;
}

/** Prints `{"event":"listening","port":N}`, the line the driver waits for. */
export function announce(server: Server): void {
  print({ event: 'listening', port: (server.address() as AddressInfo).port });
}

/**
 * Applies the scenario's settings, the same for every library: `BENCH_KEEP_ALIVE_TIMEOUT` (ms) and
 * `BENCH_WEBSOCKETS=1`, which puts a `ws` server on this HTTP server and returns it.
 */
export function prepare(server: Server): WebSocketServer | undefined {
  // When the process starts exiting, on the machine-wide monotonic clock the driver reads too: what the
  // shutdown code took, apart from the kernel's work after it. (Never printed by a process a signal kills.)
  process.once('exit', () => print({ event: 'exiting', atMs: Number(process.hrtime.bigint()) / 1e6 }));
  const keepAlive = process.env.BENCH_KEEP_ALIVE_TIMEOUT;
  if (keepAlive !== undefined && keepAlive !== '') server.keepAliveTimeout = whole(keepAlive, 'keep-alive timeout');
  if (process.env.BENCH_WEBSOCKETS !== '1') return undefined;
  return new WebSocketServer({ server });
}

/** `GET /work`: 20-50 ms of asynchronous work, so that load keeps requests in flight. */
export function work(): Promise<void> {
  return sleep(20 + Math.random() * 30);
}

/**
 * `GET /slow?ms=N&id=I`: prints `{"event":"received","id":I,"dueNs":"…"}` (when the response is due,
 * on the machine-wide monotonic clock `process.hrtime` reads), then answers after N ms.
 */
export function slow(ms: unknown, id: unknown): Promise<void> {
  const delay = whole(ms, 'ms');
  const dueNs = process.hrtime.bigint() + BigInt(delay) * 1_000_000n;
  print({ event: 'received', id: whole(id, 'id'), dueNs: String(dueNs) });
  return sleep(delay);
}

/** `GET /mem`: memory after two full collections, and the server's open connections. */
export async function memory(server: Server): Promise<MemoryReport> {
  globalThis.gc?.();
  globalThis.gc?.();
  const connections = await new Promise<number>((resolve, reject) => {
    server.getConnections((error, count) => (error ? reject(error) : resolve(count)));
  });
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heapUsed, connections };
}
