/** What the CPU-per-request driver and its server processes say to each other, and which variants exist. */
import type { Framework } from '../variants.js';

/**
 * One way of serving the same hello world inside a server process. `bare-aa` is a second, separate bare
 * slot (the A/A control); `noop` adds one no-op middleware (Express, Koa, Hono) or `onRequest` hook
 * (Fastify), and `noop-aa` is its separate twin.
 */
export type CpuVariant =
  'bare' | 'bare-aa' | 'noop' | 'noop-aa' | 'lameduck' | 'terminus' | 'hgs' | 'terminator' | 'close-with-grace';

/** The shutdown peers: set up on an http.Server around bare's handler. */
export type Peer = Extract<CpuVariant, 'terminus' | 'hgs' | 'terminator' | 'close-with-grace'>;
/** The variants that need an app of their own. */
export type AppVariant = Exclude<CpuVariant, Peer>;

const PEERS: readonly CpuVariant[] = ['terminus', 'hgs', 'terminator', 'close-with-grace'];

export const isPeer = (variant: CpuVariant): variant is Peer => PEERS.includes(variant);

/** The no-op middleware, or its A/A twin: built the same way, served as separate slots. */
export const isNoop = (variant: CpuVariant): boolean => variant === 'noop' || variant === 'noop-aa';

/** The variants each framework's server process holds, the reference (`bare`) first. */
export const CPU_VARIANTS: Record<Framework, readonly CpuVariant[]> = {
  'node:http': ['bare', 'bare-aa', 'lameduck', 'terminus', 'hgs', 'terminator'],
  express: ['bare', 'bare-aa', 'noop', 'lameduck', 'terminus', 'hgs', 'terminator'],
  koa: ['bare', 'bare-aa', 'noop', 'lameduck', 'terminus', 'hgs', 'terminator'],
  fastify: ['bare', 'bare-aa', 'noop', 'lameduck', 'terminus', 'hgs', 'terminator', 'close-with-grace'],
  hono: ['bare', 'bare-aa', 'noop', 'lameduck'],
  // Nest's own shutdown is what @lameduck/nestjs replaces; the peers are measured on Express.
  nestjs: ['bare', 'bare-aa', 'lameduck'],
};

/**
 * The server process: `node main.js <framework> [variant,variant,…]` (every variant of `CPU_VARIANTS` by
 * default); `--expose-gc` lets it answer `MemoryMessage`.
 */

/** Driver to server: serve `variant` from now on; measure `count` requests after the next `skip`. */
export interface MeasureMessage {
  type: 'measure';
  variant: CpuVariant;
  skip: number;
  count: number;
}

/** Driver to server: once every connection has closed, collect garbage twice and report the heap. */
export interface MemoryRequest {
  type: 'memory';
}

export type DriverMessage = MeasureMessage | MemoryRequest;

/** Server to driver, once listening. */
export interface ReadyMessage {
  type: 'ready';
  port: number;
}

/** Server to driver: one measurement window, from the server's own clocks. */
export interface WindowMessage {
  type: 'window';
  variant: CpuVariant;
  requests: number;
  /** User + system CPU time of the whole server process (all threads) over the window. */
  cpuMicros: number;
  wallMs: number;
  /** With in-path timing (BENCH_IN_PATH=1): the mean ns from entering the variant's first layer to its handing on. */
  inPathNanos?: number;
}

/** Server to driver: `process.memoryUsage().heapUsed` after two full collections, no connection open. */
export interface MemoryMessage {
  type: 'memory';
  heapUsed: number;
}

/** Server to driver: the run cannot be trusted (a variant leaked into the others); the message says how. */
export interface ErrorMessage {
  type: 'error';
  message: string;
}

export type ServerMessage = ReadyMessage | WindowMessage | MemoryMessage | ErrorMessage;
