/** Type tests for @lameduck/nestjs: checked by the typecheck, run as no-ops by Jest. */
import { expectTypeOf } from 'expect-type';
import type { DynamicModule, INestApplication } from '@nestjs/common';
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
} from '@lameduck/nestjs';

test('the module, the setup call and the helpers have the types they document', () => {
  expectTypeOf<LameduckModuleOptions>().toEqualTypeOf<AdapterOptions>();
  expectTypeOf(LameduckModule.forRoot).parameters.toEqualTypeOf<[options?: LameduckModuleOptions]>();
  expectTypeOf(LameduckModule.forRoot).returns.toEqualTypeOf<DynamicModule>();
  expectTypeOf(LameduckModule.forRootAsync).parameters.toEqualTypeOf<[options: LameduckModuleAsyncOptions]>();
  expectTypeOf(setupLameduck).parameters.toEqualTypeOf<[app: INestApplication]>();
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
  };
  expect(typeof usage).toBe('function');
});
