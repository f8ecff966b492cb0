/** `createGrpcDrain()`: a grpc-js server drained by a lameduck manager, with its health service told first. */
import type { Server, ServerOptions } from '@grpc/grpc-js';
import { createError, DRAINABLE, invalidOption, type Drainable, type DrainTarget } from '@lameduck/core';
import { createCalls, type Calls } from './calls.js';
import { mayUse, registeredServices, sessionCount } from './internals.js';

const HEALTH_SERVICE = 'grpc.health.v1.Health';

/** A health service whose statuses lameduck sets: `grpc-health-check`'s `HealthImplementation`, or your own. */
export interface HealthStatusSetter {
  /** Sets `service`'s status (`""` is the whole server) and tells its `Watch` streams. */
  setStatus(service: string, status: 'NOT_SERVING'): void;
}

/** Options of `createGrpcDrain()`. */
export interface GrpcDrainOptions {
  /**
   * The server's health service. When the shutdown starts, `""` and every service added to the server
   * are set `NOT_SERVING` on it (its `Watch` streams are told at once); when the drain starts, every open
   * `Watch` stream is ended, whichever implementation serves it.
   * @default undefined
   * @example createGrpcDrain({ health: new HealthImplementation({ '': 'SERVING' }) })
   */
  health?: HealthStatusSetter;
}

/** Makes a server drainable: `lameduck.attach(graceful(server))`. Build the server with `graceful.serverOptions()`. */
export interface GrpcDrain {
  /** The server, as a drain target for `lameduck.attach()`. Returns the same object each time for one server. */
  (server: Server): Drainable;
  /**
   * The options to build the server with: yours, with lameduck's interceptor first in `interceptors`
   * (it counts calls and answers them `UNAVAILABLE` in the drain's last stretch).
   * @example const server = new grpc.Server(graceful.serverOptions({ 'grpc.max_receive_message_length': 1 << 20 }));
   */
  serverOptions(options?: ServerOptions): ServerOptions;
}

function validate(options: unknown): GrpcDrainOptions {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'an object', options);
  const { health } = options as GrpcDrainOptions;
  if (health !== undefined && typeof (health as Partial<HealthStatusSetter>).setStatus !== 'function') {
    throw invalidOption('health', 'an object with setStatus() (a HealthImplementation)', health);
  }
  return options as GrpcDrainOptions;
}

/** The server's part in each phase of the manager's shutdown. */
function drainTarget(server: Server, calls: Calls, health: HealthStatusSetter | undefined): DrainTarget {
  return {
    lameDuck() {
      if (health === undefined) return;
      const services = registeredServices(server).filter((service) => service !== HEALTH_SERVICE);
      for (const service of ['', ...services]) health.setStatus(service, 'NOT_SERVING');
    },
    async drain() {
      // Watch streams never end by themselves: they would hold tryShutdown() until the deadline (grpc/grpc-node#1458).
      calls.endWatches();
      // Closes the listeners and sends GOAWAY on every connection; calls on them go on to their end.
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    },
    force() {
      const stuck = calls.describe();
      const destroyed = sessionCount(server);
      server.forceShutdown();
      return { stuck, destroyed };
    },
    inflightCount: () => calls.size(),
    inflight: () => calls.describe(),
    connectionCount: () => sessionCount(server),
    counts: () => ({ completed: calls.completed(), lost: 0 }),
    dispose() {
      calls.manager = undefined;
    },
  };
}

/**
 * Creates the drain of one grpc-js server: build the server with `serverOptions()`, then attach
 * `graceful(server)` to a manager, beside HTTP servers or alone. On shutdown the health service says
 * `NOT_SERVING` (calls still served); at the drain the listeners close and GOAWAY goes out on every
 * connection, unary calls finish, streams end on `lameduck.drainSignal` (yours) and `Watch` streams are
 * ended; in the last `abortBefore` new calls get `UNAVAILABLE`; at the deadline `forceShutdown()` cancels
 * what is left, named in the result.
 * @example
 * const lameduck = createLameduck();
 * lameduck.handleSignals();
 * const graceful = createGrpcDrain({ health });
 * const server = new grpc.Server(graceful.serverOptions());
 * server.addService(GreeterService, greeter);
 * health.addToServer(server);
 * lameduck.attach(graceful(server));
 */
export function createGrpcDrain(options: GrpcDrainOptions = {}): GrpcDrain {
  const { health } = validate(options);
  const calls = createCalls({ checksProbe: health !== undefined });
  let drained: { server: Server; drainable: Drainable } | undefined;

  function graceful(server: Server): Drainable {
    if (drained?.server === server) return drained.drainable;
    if (typeof server !== 'object' || server === null || typeof server.tryShutdown !== 'function') {
      throw createError(TypeError, 'LAMEDUCK_INVALID_ARGUMENT', 'lameduck: graceful(server) takes a grpc-js Server');
    }
    if (drained !== undefined) {
      throw createError(
        Error,
        'LAMEDUCK_ALREADY_ATTACHED',
        'lameduck: this createGrpcDrain() already drains another server; create one per server',
      );
    }
    if (!mayUse(server, calls.interceptor)) {
      throw createError(
        TypeError,
        'LAMEDUCK_INVALID_ARGUMENT',
        'lameduck: build the server with graceful.serverOptions(): new grpc.Server(graceful.serverOptions())',
      );
    }
    const drainable: Drainable = {
      [DRAINABLE](manager) {
        calls.manager = manager;
        return drainTarget(server, calls, health);
      },
    };
    drained = { server, drainable };
    return drainable;
  }

  return Object.assign(graceful, {
    serverOptions: (serverOptions: ServerOptions = {}): ServerOptions => ({
      ...serverOptions,
      interceptors: [calls.interceptor, ...(serverOptions.interceptors ?? [])],
    }),
  });
}
