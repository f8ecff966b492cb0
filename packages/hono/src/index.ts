/** @lameduck/hono: graceful shutdown for Hono on Node.js (`@hono/node-server`) as one middleware, `app.use(graceful())`. */
import {
  createError,
  resolveManager,
  type AdapterOptions,
  type AnyRequest,
  type AnyResponse,
  type Lameduck,
} from '@lameduck/core';
import type { MiddlewareHandler } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** Options of `graceful()`: every `createLameduck()` option, plus `lameduck` and `handleSignals`. */
export type GracefulOptions = AdapterOptions;

/**
 * The variables `graceful()` sets: `c.get('lameduck')` is its manager. Give it to the app, or to
 * middleware after it, to have them typed: `new Hono<Env>()`.
 */
export interface Env {
  /** What `c.get()` returns for each name. */
  Variables: {
    /** The manager of the `graceful()` middleware this app uses. */
    lameduck: Lameduck;
  };
}

/** The middleware, with its manager at hand: `graceful().lameduck.attach(serve(app))`. */
export type GracefulMiddleware = MiddlewareHandler<Env> & {
  /** The manager this middleware drains with: `attach()` a server, `addHook()`, `deadlineSignal`… */
  readonly lameduck: Lameduck;
};

/** What `@hono/node-server` passes as `c.env`: its `HttpBindings` (no `outgoing` for an upgrade request). */
interface NodeBindings {
  incoming?: AnyRequest;
  outgoing?: AnyResponse;
}

function notOnNode(): Error {
  return createError(
    Error,
    'LAMEDUCK_UNSUPPORTED_RUNTIME',
    'lameduck: @lameduck/hono needs Hono served on Node.js by @hono/node-server (serve() or createAdaptorServer()); ' +
      'c.env.incoming is missing, so this runtime (Bun, Deno, Workers) or server has no Node request to drain',
  );
}

/**
 * Creates the drain middleware. Use it first, before routes and before middleware that could answer
 * or refuse the probes (auth, rate limits). Handlers reach its manager as `c.get('lameduck')`, typed
 * through `Env`. Its server is attached with its first HTTP/1 request; attach it yourself to cover
 * the time before that, and always for HTTP/2: `middleware.lameduck.attach(serve(app))`.
 * @example
 * const app = new Hono();
 * const middleware = graceful();
 * app.use(middleware);
 * app.get('/', (c) => c.text('hello'));
 * middleware.lameduck.attach(serve({ fetch: app.fetch, port: 3000 }));
 */
export function graceful(options?: GracefulOptions): GracefulMiddleware {
  const lameduck = resolveManager(options);
  // Looked up once: the manager, an object literal with getters, is a dictionary-mode object in V8, where
  // every property lookup on the request path costs a hash lookup.
  const intercept = lameduck.intercept.bind(lameduck);
  // Not an async function: while serving it hands on next()'s own promise, with no promise of its own.
  const middleware = createMiddleware<Env>(function lameduckMiddleware(c, next) {
    const { incoming, outgoing } = (c.env ?? {}) as NodeBindings;
    if (incoming === undefined) throw notOnNode();
    c.set('lameduck', lameduck);
    // An upgrade (WebSocket) request: @hono/node-server and @hono/node-ws run the app with no response;
    // core's own upgrade listener has already refused it if the listener is closed.
    if (outgoing === undefined) return next();
    const answer = intercept(incoming, outgoing);
    if (answer === undefined) return next();
    return answer.then(({ status, headers, body }) =>
      c.body(typeof body === 'string' ? body : JSON.stringify(body), status as ContentfulStatusCode, headers),
    );
  });
  return Object.assign(middleware, { lameduck });
}

export type { AdapterOptions, Lameduck, LameduckOptions, ShutdownResult, SignalOptions } from '@lameduck/core';
export { prometheusMetrics, PROMETHEUS_CONTENT_TYPE } from '@lameduck/core';
