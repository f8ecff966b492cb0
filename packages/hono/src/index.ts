/** @lameduck/hono: graceful shutdown for Hono as one middleware, `app.use(graceful())`: on Node (`@hono/node-server`), `Bun.serve` and `Deno.serve`. */
import {
  createError,
  resolveManager,
  type AdapterOptions,
  type AnyRequest,
  type AnyResponse,
  type Lameduck,
  type PlainResponse,
} from '@lameduck/core';
import type { Context, MiddlewareHandler, Next } from 'hono';
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

function unsupported(): Error {
  return createError(
    Error,
    'LAMEDUCK_UNSUPPORTED_RUNTIME',
    'lameduck: @lameduck/hono needs Hono served by @hono/node-server on Node.js, or by Bun.serve() or Deno.serve(); ' +
      'this runtime (Workers, say) has no server lameduck can drain',
  );
}

/** Bun and Deno: their own servers (`Bun.serve`, `Deno.serve`) are drained through the Fetch API. */
const FETCH_SERVERS = 'Bun' in globalThis || 'Deno' in globalThis;

/** `Bun.serve`/`Deno.serve`: lameduck's answer, or the app's response, closing its connection while shutting down. */
async function serveFetch(lameduck: Lameduck, c: Context<Env>, next: Next): Promise<Response | void> {
  const request = c.req.raw;
  const answer = lameduck.interceptFetch(request, c.env as never);
  if (answer !== undefined) return send(c, await answer);
  // Awaited in place of next().finally(), which allocates two more promises and closures per request.
  try {
    await next();
  } finally {
    if (lameduck.fetchFinished(request)) closeAfter(c);
  }
}

/** The response closes its connection (the drain has started). */
function closeAfter(c: Context<Env>): void {
  // 101: an upgraded WebSocket, whose response cannot be copied (Deno) and has no connection to close.
  if (c.res.status === 101) return;
  try {
    // In place: c.header() would copy the response, and the copy loses the content type that the
    // runtime adds to a plain `new Response(text)` (Hono's c.text() fast path) only when it sends it.
    c.res.headers.set('connection', 'close');
  } catch {
    c.header('connection', 'close'); // immutable headers (a fetch() response): Hono copies it
  }
}

/** lameduck's plain answer in Hono's idiom, so that middleware around it (cors) sees it. */
function send(c: Context<Env>, { status, headers, body }: PlainResponse): Response {
  return c.body(typeof body === 'string' ? body : JSON.stringify(body), status as ContentfulStatusCode, headers);
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
  // Not an async function: while serving it hands on next()'s own promise, with no promise of its own.
  const middleware = createMiddleware<Env>(function lameduckMiddleware(c, next) {
    const { incoming, outgoing } = (c.env ?? {}) as NodeBindings;
    c.set('lameduck', lameduck);
    if (incoming === undefined) {
      if (!FETCH_SERVERS) throw unsupported();
      return serveFetch(lameduck, c, next);
    }
    // An upgrade (WebSocket) request: @hono/node-server and @hono/node-ws run the app with no response;
    // core's own upgrade listener has already refused it if the listener is closed.
    if (outgoing === undefined) return next();
    const answer = lameduck.intercept(incoming, outgoing);
    if (answer === undefined) return next();
    return answer.then((response) => send(c, response));
  });
  return Object.assign(middleware, { lameduck });
}

export type { AdapterOptions, Lameduck, LameduckOptions, ShutdownResult, SignalOptions } from '@lameduck/core';
export { prometheusMetrics, PROMETHEUS_CONTENT_TYPE } from '@lameduck/core';
