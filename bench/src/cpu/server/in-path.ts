/**
 * In-path timing (BENCH_IN_PATH=1, the overhead section): the wall time from entering a variant's first layer
 * (lameduck's middleware, hook or `handle()`, or the no-op in its place) to its handing on, summed per window.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { MiddlewareHandler } from 'hono';
import type { Context, Middleware, Next } from 'koa';

/** Whether the builders wrap their first layer: off for the sections that compare against an app without one. */
export const IN_PATH = process.env.BENCH_IN_PATH === '1';

let entered = 0;
let totalMs = 0;
let timed = 0;

export function enter(): void {
  entered = performance.now();
}

export function leave(): void {
  totalMs += performance.now() - entered;
  timed++;
}

/** The mean in-path time per timed request since the last call, in ns (`undefined` when nothing was timed). */
export function takeInPath(): number | undefined {
  const mean = timed === 0 ? undefined : (totalMs * 1e6) / timed;
  totalMs = 0;
  timed = 0;
  return mean;
}

export function timedExpress(handler: RequestHandler): RequestHandler {
  return function timedLayer(req: Request, res: Response, next: NextFunction) {
    enter();
    void handler(req, res, (error?: unknown) => {
      leave();
      next(error);
    });
  };
}

export function timedKoa(middleware: Middleware): Middleware {
  return function timedLayer(ctx: Context, next: Next) {
    enter();
    return middleware(ctx, () => {
      leave();
      return next();
    });
  };
}

export function timedHono(middleware: MiddlewareHandler): MiddlewareHandler {
  return function timedLayer(c, next) {
    enter();
    return middleware(c, () => {
      leave();
      return next();
    });
  };
}
