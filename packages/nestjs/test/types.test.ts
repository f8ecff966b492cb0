/** Type tests for @lameduck/nestjs: checked by the typecheck, run as no-ops by Jest. */
import { expectTypeOf } from 'expect-type';
import type { DynamicModule, INestApplication, INestMicroservice } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { AdapterOptions, Lameduck, ReadinessCheck } from '@lameduck/core';
import * as nest from '@lameduck/nestjs';
import {
  fromIndicator,
  InjectLameduck,
  LAMEDUCK,
  LameduckModule,
  lameduckIndicator,
  setupLameduck,
  type HealthIndicatorResult,
  type LameduckModuleAsyncOptions,
  type LameduckModuleOptions,
  type LameduckOptionsFactory,
} from '@lameduck/nestjs';

test('the module, the setup call and the helpers have the types they document', () => {
  expectTypeOf<LameduckModuleOptions>().toEqualTypeOf<AdapterOptions>();
  expectTypeOf(LameduckModule.forRoot).parameters.toEqualTypeOf<[options?: LameduckModuleOptions]>();
  expectTypeOf(LameduckModule.forRoot).returns.toEqualTypeOf<DynamicModule>();
  expectTypeOf(LameduckModule.forRootAsync).parameters.toEqualTypeOf<[options: LameduckModuleAsyncOptions]>();
  expectTypeOf<LameduckOptionsFactory['createLameduckOptions']>().returns.toEqualTypeOf<
    LameduckModuleOptions | Promise<LameduckModuleOptions>
  >();
  expectTypeOf(setupLameduck).parameters.toEqualTypeOf<[app: INestApplication | INestMicroservice]>();
  expectTypeOf(setupLameduck).returns.toEqualTypeOf<Lameduck>();
  expectTypeOf(setupLameduck).toBeCallableWith({} as NestExpressApplication);
  expectTypeOf(setupLameduck).toBeCallableWith({} as NestFastifyApplication);
  expectTypeOf<typeof LAMEDUCK>().toEqualTypeOf<'@lameduck/nestjs:Lameduck'>();
  expectTypeOf(InjectLameduck).returns.toExtend<ParameterDecorator>();
  expectTypeOf(fromIndicator).returns.toEqualTypeOf<ReadinessCheck>();
  expectTypeOf(lameduckIndicator).returns.toEqualTypeOf<HealthIndicatorResult>();
  expectTypeOf<nest.Lameduck>().toEqualTypeOf<Lameduck>();

  // Type-checked, never called.
  const usage = () => {
    LameduckModule.forRoot({ timeout: 20_000, handleSignals: false });
    LameduckModule.forRootAsync({
      imports: [],
      inject: ['CONFIG'],
      useFactory: async (config: { timeout: number }) => ({ timeout: config.timeout }),
    });
    // @ts-expect-error: unknown (mistyped) options are a type error, not only a runtime one
    LameduckModule.forRoot({ timout: 1 });
    // @ts-expect-error: the factory is required
    LameduckModule.forRootAsync({ inject: [] });
    class Factory implements LameduckOptionsFactory {
      createLameduckOptions() {
        return { timeout: 20_000 };
      }
    }
    LameduckModule.forRootAsync({ imports: [], useClass: Factory });
    LameduckModule.forRootAsync({ useExisting: Factory });
    // @ts-expect-error: one form only
    LameduckModule.forRootAsync({ useClass: Factory, useFactory: () => ({}) });
    // @ts-expect-error: inject belongs to useFactory
    LameduckModule.forRootAsync({ useClass: Factory, inject: [] });
    // @ts-expect-error: the class must make options (createLameduckOptions)
    LameduckModule.forRootAsync({ useClass: class NotAFactory {} });
    class Mistyped {
      createLameduckOptions = () => ({ timout: 1 });
    }
    // @ts-expect-error: the options it makes are type-checked too
    LameduckModule.forRootAsync({ useExisting: Mistyped });
  };
  expect(typeof usage).toBe('function');
});
