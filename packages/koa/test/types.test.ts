/** Type tests for @lameduck/koa: checked by the typecheck, run as no-ops by Jest. */
import { expectTypeOf } from 'expect-type';
import Koa, { type Middleware } from 'koa';
import type { AdapterOptions, Lameduck, LameduckOptions, SignalOptions } from '@lameduck/core';
import * as adapter from '@lameduck/koa';
import { graceful, type GracefulMiddleware, type GracefulOptions } from '@lameduck/koa';

test('graceful() has the types it documents', () => {
  expectTypeOf(graceful).parameters.toEqualTypeOf<[options?: GracefulOptions]>();
  expectTypeOf(graceful).parameter(0).toEqualTypeOf<GracefulOptions | undefined>();
  expectTypeOf(graceful).returns.toEqualTypeOf<GracefulMiddleware>();
  expectTypeOf<GracefulMiddleware>().toExtend<Middleware>();
  expectTypeOf<GracefulMiddleware['lameduck']>().toEqualTypeOf<Lameduck>();

  // The options: every core option, plus the manager to share and signal handling.
  expectTypeOf<GracefulOptions>().toEqualTypeOf<AdapterOptions>();
  expectTypeOf<GracefulOptions>().toExtend<LameduckOptions>();
  expectTypeOf<GracefulOptions['lameduck']>().toEqualTypeOf<Lameduck | undefined>();
  expectTypeOf<GracefulOptions['handleSignals']>().toEqualTypeOf<boolean | SignalOptions | undefined>();
  expectTypeOf(graceful).toBeCallableWith();
  expectTypeOf(graceful).toBeCallableWith({ timeout: 20_000, readinessDelay: 0, readinessPath: false });
  expectTypeOf(graceful).toBeCallableWith({ handleSignals: { signals: ['SIGTERM'], handleErrors: true } });
  expectTypeOf(graceful).toBeCallableWith({ lameduck: {} as Lameduck, handleSignals: false });

  // Every public type the package documents is exported by name from it.
  expectTypeOf<adapter.Lameduck>().toEqualTypeOf<Lameduck>();
  expectTypeOf<adapter.AdapterOptions>().toEqualTypeOf<AdapterOptions>();
  expectTypeOf<adapter.SignalOptions>().toEqualTypeOf<SignalOptions>();
  expectTypeOf<keyof adapter.ShutdownResult>().toExtend<string>();

  // Type-checked, never called.
  const usage = () => {
    const middleware = graceful();
    new Koa().use(middleware);
    // Apps with their own state and context types take it too.
    new Koa<{ user: string }, { requestId: string }>().use(graceful({ handleSignals: false }));
    middleware.lameduck.attach(new Koa().listen(0));
    // @ts-expect-error: the manager is read-only
    middleware.lameduck = {} as Lameduck;
    // @ts-expect-error: unknown (mistyped) options are a type error, not only a runtime one
    graceful({ timout: 1_000 });
    // @ts-expect-error: durations are numbers
    graceful({ timeout: 'x' });
    // @ts-expect-error: handleSignals is a boolean or signal options
    graceful({ handleSignals: 'yes' });
    // @ts-expect-error: lameduck is a manager
    graceful({ lameduck: {} });
  };
  expectTypeOf(usage).toBeFunction();
});
