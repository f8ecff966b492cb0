/** `setupLameduck(app)`: the one call main.ts makes, between `NestFactory.create()` and `listen()`. */
import type { INestApplication, INestApplicationContext, INestMicroservice } from '@nestjs/common';
import {
  answerAhead,
  coordinateFrameworkClose,
  createError,
  createLog,
  type AttachableServer,
  type Lameduck,
} from '@lameduck/core';
import type { LameduckModuleOptions } from './lameduck.module.js';
import { LAMEDUCK, LAMEDUCK_OPTIONS, LAMEDUCK_SETUP, type SetupState } from './tokens.js';

/**
 * NestFactory.create() returns a Proxy whose `set` trap assigns nothing and whose `get` trap wraps
 * every function: an own property is read and defined through the traps it lacks, on the application itself.
 */
function ownValue(app: INestApplicationContext, key: string): unknown {
  return Object.getOwnPropertyDescriptor(app, key)?.value;
}

function define(app: INestApplicationContext, key: string, value: unknown): void {
  Object.defineProperty(app, key, { value, configurable: true, writable: true });
}

const SHUTDOWN_HOOKS_FIX =
  'app.enableShutdownHooks() is not needed with LameduckModule and was turned off: lameduck handles SIGTERM/SIGINT, ' +
  'drains, then calls app.close(), which runs the same Nest hooks. Remove the call (Nest would re-send the signal ' +
  'to the process after its hooks, which reads as a second Ctrl+C).';

/**
 * `enableShutdownHooks()` must not run alongside lameduck's signal handling: it closes the app while
 * requests are still in flight (nestjs/nest#11416), then re-sends the signal. Its listeners are
 * removed, and later calls do nothing; one warning says so.
 */
function disableShutdownHooks(app: INestApplicationContext, warn: () => void): void {
  // Private fields of NestApplicationContext: a listener per signal in a Map (Nest 12), or one
  // listener and its signals (Nest 11).
  const refs = ownValue(app, 'shutdownCleanupRefs');
  const cleanup = ownValue(app, 'shutdownCleanupRef');
  const signals = ownValue(app, 'activeShutdownSignals');
  if (refs instanceof Map && refs.size > 0) {
    for (const [signal, listener] of refs as Map<string, () => void>) process.removeListener(signal, listener);
    refs.clear();
    warn();
  } else if (typeof cleanup === 'function' && Array.isArray(signals) && signals.length > 0) {
    for (const signal of signals as string[]) process.removeListener(signal, cleanup as () => void);
    signals.length = 0;
    warn();
  }
  define(app, 'enableShutdownHooks', function enableShutdownHooks() {
    warn();
    return app;
  });
}

/** The manager of the application's `LameduckModule`; `caller` names the call in the error when there is none. */
export function moduleManager(app: INestApplicationContext, caller: string): Lameduck {
  try {
    return app.get<Lameduck>(LAMEDUCK);
  } catch (error) {
    throw createError(
      TypeError,
      'LAMEDUCK_INVALID_ARGUMENT',
      `${caller}: this application does not import LameduckModule; add LameduckModule.forRoot() to its root module`,
      { cause: error },
    );
  }
}

/**
 * Connects the application to `LameduckModule`'s manager: attaches its server (call it before
 * `listen()`, so no socket goes unseen), answers probes and the 503 ahead of everything else, and
 * orders the shutdown. On a signal: readiness fails, the lame-duck phase, the drain, then
 * `app.close()`, so `onModuleDestroy`, `beforeApplicationShutdown` and `onApplicationShutdown` run
 * after the last response, inside the deadline. A programmatic `app.close()` drains first too (with
 * no readiness delay). Works on `@nestjs/platform-express` and `@nestjs/platform-fastify`, and on a
 * standalone microservice (`NestFactory.createMicroservice()`, with `gracefulGrpc(lameduck, …)`), which
 * has no HTTP server: there it orders the shutdown only. Returns the manager.
 * @example
 * const app = await NestFactory.create(AppModule);
 * setupLameduck(app);
 * await app.listen(3000);
 */
export function setupLameduck(app: INestApplication | INestMicroservice): Lameduck {
  const lameduck = moduleManager(app, 'setupLameduck(app)');
  const options = app.get<LameduckModuleOptions>(LAMEDUCK_OPTIONS);
  app.get<SetupState>(LAMEDUCK_SETUP).done = true;
  // A microservice's proxy answers undefined for what it lacks.
  const http = typeof (app as Partial<INestApplication>).getHttpServer === 'function';
  if (http) {
    const server = (app as INestApplication).getHttpServer() as AttachableServer;
    lameduck.attach(server);
    // Nest's pipeline on both platforms starts at this server's request listener (the Express app, or
    // Fastify's handler): answered there, probes and the 503 come before middleware (even that added
    // before this call), guards, interceptors, pipes, body parsing and Fastify's own hooks.
    answerAhead(lameduck, server);
  }

  const log = createLog(lameduck.options.logger, lameduck.options.silent);
  let warned = false;
  // With signals left to the application (handleSignals: false), Nest's own hooks may be how it stops.
  if (options.handleSignals !== false) {
    disableShutdownHooks(app, () => {
      if (!warned) log.warn({ code: 'LAMEDUCK_NEST_SHUTDOWN_HOOKS' }, SHUTDOWN_HOOKS_FIX);
      warned = true;
    });
  }

  // Nest runs onModuleDestroy root module first and global modules last, so no module hook of ours
  // could drain before the application's own hooks: the shutdown sequence itself drains first.
  // Nest 12 runs it in shutdown(), for close() and its own signal listener alike; Nest 11 in close().
  // A microservice's close() closes its transport before shutdown() (gRPC: forceShutdown(), every call
  // cancelled), so there it is close() on both.
  // The method comes from the class: the proxy's would call this one back.
  const own = Object.getPrototypeOf(app) as Record<string, unknown>;
  const method = http && typeof own.shutdown === 'function' ? 'shutdown' : 'close';
  const sequence = own[method] as (...args: unknown[]) => Promise<void>;
  const framework = coordinateFrameworkClose(lameduck, { name: 'app.close()', close: () => app.close() });
  define(app, method, async function drainFirst(this: unknown, ...args: unknown[]) {
    await framework.closing();
    try {
      await sequence.apply(this, args);
    } finally {
      framework.closed();
    }
  });
  return lameduck;
}
