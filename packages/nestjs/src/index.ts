/** @lameduck/nestjs: graceful shutdown for NestJS (Express and Fastify platforms), `LameduckModule.forRoot()` and `setupLameduck(app)`. */
export { LameduckModule } from './lameduck.module.js';
export type {
  LameduckModuleAsyncBase,
  LameduckModuleAsyncOptions,
  LameduckModuleClassOptions,
  LameduckModuleExistingOptions,
  LameduckModuleFactoryOptions,
  LameduckModuleOptions,
  LameduckOptionsFactory,
} from './lameduck.module.js';
export { setupLameduck } from './setup.js';
export { InjectLameduck, LAMEDUCK, LAMEDUCK_OPTIONS } from './tokens.js';
export { fromIndicator, lameduckIndicator } from './terminus.js';
export type { HealthIndicatorResult } from './terminus.js';

export type { AdapterOptions, Lameduck, LameduckOptions, ShutdownResult, SignalOptions } from '@lameduck/core';
export { createLameduck, prometheusMetrics, PROMETHEUS_CONTENT_TYPE } from '@lameduck/core';
