/** `LameduckModule`: the global Nest module that creates the lameduck manager and makes it injectable. */
import {
  Global,
  Inject,
  Module,
  type DynamicModule,
  type FactoryProvider,
  type ModuleMetadata,
  type OnApplicationBootstrap,
  type Provider,
} from '@nestjs/common';
import { createLog, resolveManager, type AdapterOptions, type Lameduck } from '@lameduck/core';
import { LAMEDUCK, LAMEDUCK_OPTIONS, LAMEDUCK_SETUP, type SetupState } from './tokens.js';

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

const setup: Provider<SetupState> = { provide: LAMEDUCK_SETUP, useFactory: (): SetupState => ({ done: false }) };

const NOT_SET_UP =
  'LameduckModule is imported but setupLameduck(app) was not called before listen(): the server is not attached, ' +
  'so a signal would end the process without draining it. Add setupLameduck(app) after NestFactory.create() in main.ts.';

/**
 * The global module: import it once, in the root module; inject the manager anywhere with
 * `@InjectLameduck()`. `setupLameduck(app)` in `main.ts` attaches it to the server.
 * @example
 * @Module({ imports: [LameduckModule.forRoot({ timeout: 20_000 })] })
 * export class AppModule {}
 */
@Global()
@Module({})
export class LameduckModule implements OnApplicationBootstrap {
  /** @internal Nest constructs the module; applications never do. */
  constructor(
    @Inject(LAMEDUCK) private readonly lameduck: Lameduck,
    @Inject(LAMEDUCK_SETUP) private readonly setup: SetupState,
  ) {}

  /** A module without its setup call drains nothing: said once, when the application starts. */
  onApplicationBootstrap(): void {
    if (this.setup.done) return;
    const { logger, silent } = this.lameduck.options;
    createLog(logger, silent).warn({ code: 'LAMEDUCK_NEST_NOT_SET_UP' }, NOT_SET_UP);
  }

  /** The module with these options (validated when the manager is created, with the application). */
  static forRoot(options: LameduckModuleOptions = {}): DynamicModule {
    return {
      module: LameduckModule,
      providers: [{ provide: LAMEDUCK_OPTIONS, useValue: options }, manager, setup],
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
      providers: [
        { provide: LAMEDUCK_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] },
        manager,
        setup,
      ],
      exports: [LAMEDUCK],
    };
  }
}
