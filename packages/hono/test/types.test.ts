/** Type tests for @lameduck/hono: checked by the typecheck, run as no-ops by Jest. */
import { expectTypeOf } from 'expect-type';
import { serve } from '@hono/node-server';
import type { AdapterOptions, Lameduck } from '@lameduck/core';
import * as adapter from '@lameduck/hono';
import { graceful, type Env, type GracefulMiddleware, type GracefulOptions } from '@lameduck/hono';
import { Hono, type MiddlewareHandler } from 'hono';
import { createMiddleware } from 'hono/factory';

test('graceful() has the types it documents', () => {
  expectTypeOf(graceful).parameters.toEqualTypeOf<[options?: GracefulOptions]>();
  expectTypeOf(graceful).returns.toEqualTypeOf<GracefulMiddleware>();
  expectTypeOf<GracefulMiddleware>().toExtend<MiddlewareHandler<Env>>();
  expectTypeOf<GracefulMiddleware['lameduck']>().toEqualTypeOf<Lameduck>();
  expectTypeOf<GracefulOptions>().toEqualTypeOf<AdapterOptions>();
  expectTypeOf<Env['Variables']['lameduck']>().toEqualTypeOf<Lameduck>();
  expectTypeOf<adapter.Lameduck>().toEqualTypeOf<Lameduck>();

  // Type-checked, never called.
  const usage = () => {
    const middleware = graceful();
    const app = new Hono<Env>();
    app.use(middleware);
    app.get('/', (c) => {
      expectTypeOf(c.get('lameduck')).toEqualTypeOf<Lameduck>();
      return c.text(c.get('lameduck').state);
    });
    // Chained, the app's type learns the variable from the middleware itself.
    new Hono().use(graceful()).get('/', (c) => c.text(c.get('lameduck').state));
    // Middleware of its own reaches it through Env too.
    createMiddleware<Env>(async (c, next) => {
      expectTypeOf(c.var.lameduck).toEqualTypeOf<Lameduck>();
      await next();
    });
    middleware.lameduck.attach(serve(app));
    // No global ContextVariableMap augmentation: an app that did not declare Env does not claim the variable.
    new Hono().get('/', (c) => {
      // @ts-expect-error: 'lameduck' is not a variable of an app without Env
      c.get('lameduck');
      return c.text('ok');
    });
    // @ts-expect-error: the manager is read-only
    middleware.lameduck = {} as Lameduck;
    // @ts-expect-error: unknown (mistyped) options are a type error
    graceful({ timout: 1 });
  };
  expect(typeof usage).toBe('function');
});
