/** @lameduck/express: graceful shutdown for Express 4 and 5 as one middleware, `app.use(graceful())`. */
import { resolveManager, type AdapterOptions, type Lameduck } from '@lameduck/core';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Locals {
      /** The lameduck manager of the `graceful()` middleware this app uses (set on `app.locals` and `res.locals`). */
      lameduck: Lameduck;
    }
  }
}

/** Options of `graceful()`: every `createLameduck()` option, plus `lameduck` and `handleSignals`. */
export type GracefulOptions = AdapterOptions;

/** The middleware, with its manager at hand: `graceful().lameduck.attach(server)`. */
export interface GracefulMiddleware extends RequestHandler {
  /** The manager this middleware drains with: `attach()` a server, `addHook()`, `deadlineSignal`… */
  readonly lameduck: Lameduck;
}

/**
 * Creates the drain middleware. Mount it first, before routes and before middleware that could
 * answer or refuse the probes (auth, CORS, rate limits). Routes reach its manager as
 * `req.app.locals.lameduck` (or `res.locals.lameduck`), typed. Its server is attached with its first
 * request; attach it yourself to cover the time before that: `middleware.lameduck.attach(server)`.
 * @example
 * const app = express();
 * app.use(graceful());
 * app.get('/', (req, res) => res.send('hello'));
 * app.listen(3000);
 */
export function graceful(options?: GracefulOptions): GracefulMiddleware {
  const lameduck = resolveManager(options);
  // The app last seen: app.locals is a dictionary-mode object, two hash lookups that each request would pay.
  let seen: unknown;
  function lameduckMiddleware(req: Request, res: Response, next: NextFunction): void {
    const app = req.app;
    if (app !== seen) {
      seen = app;
      // Route modules reach the manager without importing the middleware: req.app.locals.lameduck.
      if (app.locals.lameduck === undefined) app.locals.lameduck = lameduck;
    }
    res.locals.lameduck = lameduck;
    const answer = lameduck.intercept(req, res);
    if (answer === undefined) return next();
    answer.then((response) => void res.status(response.status).set(response.headers).send(response.body), next);
  }
  return Object.assign(lameduckMiddleware, { lameduck });
}

export type { AdapterOptions, Lameduck, LameduckOptions, ShutdownResult, SignalOptions } from '@lameduck/core';
export { prometheusMetrics, PROMETHEUS_CONTENT_TYPE } from '@lameduck/core';
