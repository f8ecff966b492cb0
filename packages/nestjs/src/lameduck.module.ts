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
  type Type,
} from '@nestjs/common';
import { createLog, invalidOption, resolveManager, type AdapterOptions, type Lameduck } from '@lameduck/core';
import { LAMEDUCK, LAMEDUCK_OPTIONS, LAMEDUCK_SETUP, type SetupState } from './tokens.js';

/** Options of `LameduckModule.forRoot()`: every `createLameduck()` option, plus `lameduck` and `handleSignals`. */
export type LameduckModuleOptions = AdapterOptions;

/**
 * A provider that makes the module's options, for `forRootAsync({ useClass })` and `({ useExisting })`.
 * @example
 * @Injectable()
 * class LameduckConfig implements LameduckOptionsFactory {
 *   constructor(private readonly config: ConfigService) {}
 *   createLameduckOptions(): LameduckModuleOptions {
 *     return { timeout: this.config.get<number>('SHUTDOWN_TIMEOUT') };
 *   }
 * }
 */
export interface LameduckOptionsFactory {
  /** Returns the module's options; called once, when the application is created. */
  createLameduckOptions(): LameduckModuleOptions | Promise<LameduckModuleOptions>;
}

/** Options of `LameduckModule.forRootAsync()`: one of three forms, each saying where the options come from. */
export type LameduckModuleAsyncOptions =
  LameduckModuleFactoryOptions | LameduckModuleClassOptions | LameduckModuleExistingOptions;

/** What every form of `forRootAsync()` takes. */
export interface LameduckModuleAsyncBase {
  /**
   * Modules whose exported providers the factory, the class or the existing provider need.
   * @default []
   * @example imports: [ConfigModule]
   */
  imports?: ModuleMetadata['imports'];
}

/** `forRootAsync({ useFactory, inject })`: the options from a function, with injected dependencies. */
export interface LameduckModuleFactoryOptions extends LameduckModuleAsyncBase {
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
  /** Not in this form: `forRootAsync()` takes one of `useFactory`, `useClass`, `useExisting`. */
  useClass?: never;
  /** Not in this form: `forRootAsync()` takes one of `useFactory`, `useClass`, `useExisting`. */
  useExisting?: never;
}

/** `forRootAsync({ useClass })`: the module instantiates this class (with its own injections) and calls `createLameduckOptions()`. */
export interface LameduckModuleClassOptions extends LameduckModuleAsyncBase {
  /**
   * The options factory class, instantiated inside the module.
   * @example useClass: LameduckConfig
   */
  useClass: Type<LameduckOptionsFactory>;
  /** Not in this form: `forRootAsync()` takes one of `useFactory`, `useClass`, `useExisting`. */
  useFactory?: never;
  /** Not in this form: `forRootAsync()` takes one of `useFactory`, `useClass`, `useExisting`. */
  inject?: never;
  /** Not in this form: `forRootAsync()` takes one of `useFactory`, `useClass`, `useExisting`. */
  useExisting?: never;
}

/** `forRootAsync({ useExisting })`: an options factory another module provides and exports (listed in `imports`). */
export interface LameduckModuleExistingOptions extends LameduckModuleAsyncBase {
  /**
   * The token of the existing options factory provider.
   * @example useExisting: LameduckConfig
   */
  useExisting: Type<LameduckOptionsFactory>;
  /** Not in this form: `forRootAsync()` takes one of `useFactory`, `useClass`, `useExisting`. */
  useFactory?: never;
  /** Not in this form: `forRootAsync()` takes one of `useFactory`, `useClass`, `useExisting`. */
  inject?: never;
  /** Not in this form: `forRootAsync()` takes one of `useFactory`, `useClass`, `useExisting`. */
  useClass?: never;
}

const FORMS = ['useFactory', 'useClass', 'useExisting'] as const;

function fromFactory(factory: LameduckOptionsFactory): LameduckModuleOptions | Promise<LameduckModuleOptions> {
  return factory.createLameduckOptions();
}

/** The providers of the options token (and of the class to instantiate), for each form of `forRootAsync()`. */
function asyncOptionsProviders(options: LameduckModuleAsyncOptions): Provider[] {
  const given = FORMS.filter((form) => options?.[form] !== undefined);
  if (given.length !== 1) {
    throw invalidOption('forRootAsync', 'an object with exactly one of useFactory, useClass, useExisting', options);
  }
  if (options.useFactory !== undefined) {
    return [{ provide: LAMEDUCK_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] }];
  }
  const factory = options.useClass ?? options.useExisting;
  const own: Provider[] = options.useClass === undefined ? [] : [{ provide: factory, useClass: factory }];
  return [...own, { provide: LAMEDUCK_OPTIONS, useFactory: fromFactory, inject: [factory] }];
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
   * The module with options made at startup (configuration, secrets, another module's providers): by
   * a factory function (`useFactory` and `inject`), or by an options factory class, instantiated here
   * (`useClass`) or provided by an imported module (`useExisting`). Exactly one of the three, or
   * `LAMEDUCK_INVALID_OPTION`.
   * @example
   * LameduckModule.forRootAsync({
   *   imports: [ConfigModule],
   *   inject: [ConfigService],
   *   useFactory: (config: ConfigService) => ({ timeout: config.get<number>('SHUTDOWN_TIMEOUT') }),
   * })
   * LameduckModule.forRootAsync({ imports: [ConfigModule], useClass: LameduckConfig })
   */
  static forRootAsync(options: LameduckModuleAsyncOptions): DynamicModule {
    return {
      module: LameduckModule,
      imports: options?.imports ?? [],
      providers: [...asyncOptionsProviders(options), manager, setup],
      exports: [LAMEDUCK],
    };
  }
}
