/** @lameduck/koa: graceful shutdown for Koa 2 and 3 as one middleware, `app.use(graceful())`. */
import { resolveManager, type AdapterOptions, type Lameduck } from '@lameduck/core';
import type { Middleware } from 'koa';

declare module 'koa' {
  interface DefaultContext {
    /** The lameduck manager of the `graceful()` middleware this app uses. */
    lameduck: Lameduck;
  }
}

/** Options of `graceful()`: every `createLameduck()` option, plus `lameduck` and `handleSignals`. */
export type GracefulOptions = AdapterOptions;

/** The middleware, with its manager at hand: `graceful().lameduck.attach(server)`. */
export type GracefulMiddleware = Middleware & {
  /** The manager this middleware drains with: `attach()` a server, `addHook()`, `deadlineSignal`… */
  readonly lameduck: Lameduck;
};

/**
 * Creates the drain middleware. Use it first, before routes and before middleware that could answer
 * or refuse the probes (auth, CORS, rate limits). Middleware after it reaches its manager as
 * `ctx.lameduck`, typed. Its server is attached with its first request;
 * attach it yourself to cover the time before that: `middleware.lameduck.attach(server)`.
 * @example
 * const app = new Koa();
 * app.use(graceful());
 * app.use((ctx) => { ctx.body = 'hello'; });
 * app.listen(3000);
 */
export function graceful(options?: GracefulOptions): GracefulMiddleware {
  const lameduck = resolveManager(options);
  // Not an async function: while serving it hands on next()'s own promise, with no promise of its own.
  // The app last seen: ctx.lameduck is read through ctx's prototype chain, one more object per request.
  let seen: unknown;
  const lameduckMiddleware: Middleware = function lameduckMiddleware(ctx, next) {
    if (ctx.app !== seen) {
      seen = ctx.app;
      // Set once on app.context, which every ctx inherits: route modules reach it as ctx.lameduck.
      if ((ctx as { lameduck?: Lameduck }).lameduck === undefined) ctx.app.context.lameduck = lameduck;
    }
    const answer = lameduck.intercept(ctx.req, ctx.res);
    if (answer === undefined) return next();
    return answer.then((response) => {
      // Set directly, not through ctx.throw(): Koa's error path drops headers set before it.
      ctx.status = response.status;
      ctx.set(response.headers);
      ctx.body = response.body;
    });
  };
  return Object.assign(lameduckMiddleware, { lameduck });
}

export type { AdapterOptions, Lameduck, LameduckOptions, ShutdownResult, SignalOptions } from '@lameduck/core';
export { prometheusMetrics, PROMETHEUS_CONTENT_TYPE } from '@lameduck/core';
