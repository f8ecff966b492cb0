/** `Bun.serve()` and `Deno.serve()` servers as one drain target: each runtime's own stop, driven by the manager's phases. */
import { DRAINABLE } from '../targets.js';
import type { Drainable } from '../targets.js';
import type { DrainTarget } from '../types.js';
import type { FetchRequests } from './requests.js';

/** What lameduck uses of the server `Bun.serve()` returns. */
export interface BunServer {
  /** `stop(false)`: refuse new connections, close idle ones, resolve once in-flight requests end; `stop(true)`: close all. */
  stop(closeActiveConnections?: boolean): Promise<void>;
  /** Requests in flight. */
  readonly pendingRequests: number;
  /** WebSockets open. */
  readonly pendingWebSockets: number;
}

/** What lameduck uses of the server `Deno.serve()` returns. */
export interface DenoServer {
  /** Refuses new connections; resolves once in-flight responses have been sent. */
  shutdown(): Promise<void>;
  /** Resolves once the server has closed. */
  readonly finished: Promise<void>;
  /** Where it listens. */
  readonly addr: unknown;
}

/** A server built on the Fetch API that `attach()` takes: `Bun.serve()`'s or `Deno.serve()`'s. */
export type FetchServer = BunServer | DenoServer;

function isBunServer(value: object): value is BunServer {
  const server = value as Partial<BunServer>;
  return typeof server.stop === 'function' && typeof server.pendingRequests === 'number';
}

function isDenoServer(value: object): value is DenoServer {
  const server = value as Partial<DenoServer>;
  return typeof server.shutdown === 'function' && server.finished instanceof Promise && 'addr' in server;
}

/** True when `value` is a server this module drains. */
export function isFetchServer(value: unknown): value is FetchServer {
  return value !== null && typeof value === 'object' && (isBunServer(value) || isDenoServer(value));
}

/** Every fetch server of one manager, drained as one target (one count of the requests they share). */
export interface FetchServers extends Drainable {
  add(server: FetchServer): void;
  remove(server: FetchServer): void;
  readonly size: number;
}

/** Stops one server gracefully; resolves when it has, or when `forced` settles first. */
function stop(server: FetchServer, forced: Promise<void>): Promise<void> {
  const stopped = isBunServer(server) ? server.stop(false) : server.shutdown();
  return Promise.race([
    stopped.then(
      () => undefined,
      () => undefined,
    ),
    forced,
  ]);
}

export function createFetchServers(requests: FetchRequests): FetchServers {
  const servers = new Set<FetchServer>();
  let force!: () => void;
  const forced = new Promise<void>((resolve) => (force = resolve));
  let draining = false;

  const target: DrainTarget = {
    drain() {
      draining = true;
      return Promise.all([...servers].map((server) => stop(server, forced))).then(() => undefined);
    },
    force() {
      const stuck = requests.inflight();
      let destroyed = 0;
      for (const server of servers) {
        // Deno has no forced stop: what is left ends with the process.
        if (!isBunServer(server)) continue;
        destroyed += server.pendingRequests + server.pendingWebSockets;
        void server.stop(true).catch(() => undefined);
      }
      force();
      return { stuck, destroyed };
    },
    inflightCount: () => requests.size(),
    inflight: () => requests.inflight(),
    counts: () => ({ completed: requests.completed(), lost: 0 }),
  };

  return {
    [DRAINABLE]: () => target,
    add(server) {
      servers.add(server);
      // Attached after the drain started: stopped at once, as the others were.
      if (draining) void stop(server, forced);
    },
    remove(server) {
      servers.delete(server);
    },
    get size() {
      return servers.size;
    },
  };
}
