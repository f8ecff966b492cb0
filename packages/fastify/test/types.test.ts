/** Type tests for @lameduck/fastify: checked by the typecheck, run as no-ops by Jest (the export check runs). */
import { expectTypeOf } from 'expect-type';
import Fastify, { type FastifyInstance, type FastifyPluginCallback } from 'fastify';
import type { AdapterOptions, Lameduck, LameduckOptions, SignalOptions } from '@lameduck/core';
import * as adapter from '@lameduck/fastify';
import graceful, { graceful as named, type GracefulOptions } from '@lameduck/fastify';

test('the plugin has the types it documents', () => {
  expectTypeOf(graceful).toEqualTypeOf(named);
  expectTypeOf(graceful).toExtend<FastifyPluginCallback<GracefulOptions>>();

  // The options: every core option, plus the manager to share and signal handling.
  expectTypeOf<GracefulOptions>().toEqualTypeOf<AdapterOptions>();
  expectTypeOf<GracefulOptions>().toExtend<LameduckOptions>();
  expectTypeOf<GracefulOptions['lameduck']>().toEqualTypeOf<Lameduck | undefined>();
  expectTypeOf<GracefulOptions['handleSignals']>().toEqualTypeOf<boolean | SignalOptions | undefined>();

  // Declaration merging: every Fastify instance has the decorator, typed.
  expectTypeOf<FastifyInstance['lameduck']>().toEqualTypeOf<Lameduck>();

  // Every public type the package documents is exported by name from it.
  expectTypeOf<adapter.Lameduck>().toEqualTypeOf<Lameduck>();
  expectTypeOf<adapter.AdapterOptions>().toEqualTypeOf<AdapterOptions>();
  expectTypeOf<adapter.SignalOptions>().toEqualTypeOf<SignalOptions>();
  expectTypeOf<keyof adapter.ShutdownResult>().toExtend<string>();

  // Type-checked, never called.
  const usage = async () => {
    const app = Fastify();
    await app.register(graceful);
    await app.register(graceful, { timeout: 1_000 });
    await app.register(named, { handleSignals: { handleErrors: true }, readinessPath: false });
    await app.register(graceful, { lameduck: {} as Lameduck, handleSignals: false });
    // Fastify's own register options are allowed next to lameduck's.
    await app.register(graceful, { prefix: '/ignored', timeout: 1_000 });
    expectTypeOf(app.lameduck).toEqualTypeOf<Lameduck>();
    expectTypeOf(app.lameduck.shutdown).returns.resolves.toHaveProperty('graceful');
    // @ts-expect-error: the decorator is the manager, not anything else
    app.lameduck = 'manager';
    // @ts-expect-error: unknown (mistyped) options are a type error, not only a runtime one
    await app.register(graceful, { timout: 1_000 });
    // @ts-expect-error: durations are numbers
    await app.register(graceful, { timeout: 'x' });
    // @ts-expect-error: handleSignals is a boolean or signal options
    await app.register(graceful, { handleSignals: 'yes' });
  };
  expectTypeOf(usage).toBeFunction();
});

test('the default export is the named one', () => {
  expect(graceful).toBe(named);
  expect(adapter.default).toBe(adapter.graceful);
});
