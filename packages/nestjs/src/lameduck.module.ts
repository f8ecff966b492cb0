/** `LameduckModule`: the global Nest module that creates the lameduck manager and makes it injectable. */
import { Global, Module, type DynamicModule, type FactoryProvider, type ModuleMetadata } from '@nestjs/common';
import { resolveManager, type AdapterOptions, type Lameduck } from '@lameduck/core';
import { LAMEDUCK, LAMEDUCK_OPTIONS } from './tokens.js';

/** Options of `LameduckModule.forRoot()`: every `createLameduck()` option, plus `lameduck` and `handleSignals`. */
export type LameduckModuleOptions = AdapterOptions;

/** Options of `LameduckModule.forRootAsync()`: the options come from a factory, with injected dependencies. */
export interface LameduckModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  /**
   * Returns the module's options; its arguments are the `inject` tokens, resolved.
   * @example useFactory: (config: ConfigService) => ({ timeout: config.get('SHUTDOWN_TIMEOUT') })
   */
  useFactory: (...args: never[]) => LameduckModuleOptions | Promise<LameduckModuleOptions>;
  /**
   * What `useFactory` is given, in order.
   * @default []
   * @example inject: [ConfigService]
   */
  inject?: FactoryProvider['inject'];
}

const manager: FactoryProvider<Lameduck> = {
  provide: LAMEDUCK,
  useFactory: (options: LameduckModuleOptions) => resolveManager(options),
  inject: [LAMEDUCK_OPTIONS],
};

/**
 * The global module: import it once, in the root module; inject the manager anywhere with
 * `@InjectLameduck()`. `setupLameduck(app)` in `main.ts` attaches it to the server.
 * @example
 * @Module({ imports: [LameduckModule.forRoot({ timeout: 20_000 })] })
 * export class AppModule {}
 */
@Global()
@Module({})
export class LameduckModule {
  /** The module with these options (validated when the manager is created, with the application). */
  static forRoot(options: LameduckModuleOptions = {}): DynamicModule {
    return {
      module: LameduckModule,
      providers: [{ provide: LAMEDUCK_OPTIONS, useValue: options }, manager],
      exports: [LAMEDUCK],
    };
  }

  /**
   * The module with options from a factory (configuration, secrets, another module's providers).
   * @example
   * LameduckModule.forRootAsync({
   *   imports: [ConfigModule],
   *   inject: [ConfigService],
   *   useFactory: (config: ConfigService) => ({ timeout: config.get<number>('SHUTDOWN_TIMEOUT') }),
   * })
   */
  static forRootAsync(options: LameduckModuleAsyncOptions): DynamicModule {
    return {
      module: LameduckModule,
      imports: options.imports ?? [],
      providers: [{ provide: LAMEDUCK_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] }, manager],
      exports: [LAMEDUCK],
    };
  }
}
