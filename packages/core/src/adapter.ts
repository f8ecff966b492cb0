/** What every framework adapter shares: its options, the manager they describe, and closing with the framework. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { invalidOption } from './errors.js';
import { createLameduck, type Lameduck } from './lameduck.js';
import { DEFAULTS, type LameduckOptions, type SignalOptions } from './options.js';
import type { AttachableServer, Logger } from './types.js';

/** What a framework supplies to `resolveManager()`: its conventions, applied to a manager it creates. */
export interface FrameworkDefaults {
  /** The framework's logger (Fastify: `fastify.log.child(…)`), used unless `logger` or `silent` is given. */
  logger?: Logger;
  /** Put before every probe path (Fastify's route prefix). Refused with a shared manager, whose paths are its own. */
  pathPrefix?: string;
}

const PROBE_PATHS = ['readinessPath', 'livenessPath', 'startupPath'] as const;

/** Options of every adapter (`graceful()`): the core's options, plus a manager to share and signal handling. */
export interface AdapterOptions extends LameduckOptions {
  /**
   * A manager to use instead of creating one, to share it between servers or apps. Core options then
   * belong to its `createLameduck()` call, not here.
   * @default undefined
   * @example app.use(graceful({ lameduck }))
   */
  lameduck?: Lameduck;
  /**
   * Install `lameduck.handleSignals()` (SIGTERM/SIGINT drain, then exit), with these options when an
   * object. `false` leaves the process to you: call `lameduck.shutdown()` yourself.
   * @default true
   * @example app.use(graceful({ handleSignals: { handleErrors: true } }))
   */
  handleSignals?: boolean | SignalOptions;
}

/** For adapters: `value` is a manager made by `createLameduck()` (and not, say, a framework's application). */
export function isLameduck(value: unknown): value is Lameduck {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Lameduck).intercept === 'function' &&
    typeof (value as Lameduck).shutdown === 'function'
  );
}

/**
 * For adapters: the manager that adapter options describe (the one passed, or a new one), with
 * `handleSignals()` installed unless `handleSignals: false`. Validates like `createLameduck()`.
 */
export function resolveManager(options: AdapterOptions = {}, framework: FrameworkDefaults = {}): Lameduck {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'an object', options);
  const { lameduck, handleSignals = DEFAULTS.handleSignals, ...core } = options;
  const prefix = framework.pathPrefix ?? '';
  let manager: Lameduck;
  if (lameduck === undefined) {
    if (framework.logger !== undefined && core.logger === undefined && core.silent !== true) {
      core.logger = framework.logger;
    }
    for (const key of PROBE_PATHS) {
      const path = core[key] ?? DEFAULTS[key];
      // A path that is not a string is left for createLameduck() to refuse, as given.
      if (prefix !== '' && typeof path === 'string') core[key] = `${prefix}${path}`;
    }
    manager = createLameduck(core);
  } else if (prefix !== '') {
    throw invalidOption(
      'prefix',
      'left out when a manager is shared: its probe paths are set by createLameduck()',
      prefix,
    );
  } else if (!isLameduck(lameduck)) {
    throw invalidOption('lameduck', 'a manager made by createLameduck()', lameduck);
  } else if (Object.keys(core).length > 0) {
    throw invalidOption(
      Object.keys(core)[0]!,
      'passed to createLameduck() when a manager is shared (options here would be ignored)',
      core[Object.keys(core)[0] as keyof typeof core],
    );
  } else {
    manager = lameduck;
  }
  if (handleSignals === true) manager.handleSignals();
  else if (handleSignals !== false) {
    if (typeof handleSignals !== 'object' || handleSignals === null) {
      throw invalidOption('handleSignals', 'true, false or signal options', handleSignals);
    }
    manager.handleSignals(handleSignals);
  }
  return manager;
}

/** What a framework's own close lifecycle calls; see `coordinateFrameworkClose()`. */
export interface FrameworkClose {
  /**
   * The framework started closing (the application asked it to): starts the shutdown with no
   * readiness delay, and resolves once the drain has ended, so the framework closes after it.
   */
  closing(): Promise<void>;
  /** The framework has closed, after the application's own close hooks. */
  closed(): void;
}

/**
 * For adapters of frameworks with their own close (Fastify's `close()` and its `onClose` hooks):
 * closing the framework drains first, and a shutdown started elsewhere (a signal) closes the
 * framework in the first cleanup phase (`work`), so the application's close hooks run before its pools close.
 * Either way the framework closes once, within `max(hookTimeout, cleanupReserve)`.
 * @example
 * const framework = coordinateFrameworkClose(lameduck, { name: 'fastify.close()', close: () => fastify.close() });
 * fastify.addHook('preClose', (done) => void framework.closing().then(() => done()));
 * fastify.addHook('onClose', (_instance, done) => { framework.closed(); done(); });
 */
export function coordinateFrameworkClose(
  lameduck: Lameduck,
  framework: { name: string; close: () => unknown },
): FrameworkClose {
  let closeStarted = false;
  let frameworkClosed!: () => void;
  const closed = new Promise<void>((resolve) => (frameworkClosed = resolve));
  lameduck.addHook(() => (closeStarted ? closed : framework.close()), {
    name: framework.name,
    timeout: Math.max(lameduck.options.hookTimeout, lameduck.options.cleanupReserve),
    phase: 'work',
  });
  return {
    closing() {
      closeStarted = true;
      // A close the application asked for has no readiness delay; one started by a signal keeps it.
      void lameduck.shutdown(framework.name, { readinessDelay: 0 });
      return lameduck.drained();
    },
    closed: () => frameworkClosed(),
  };
}

/**
 * For adapters of frameworks that own their server's `request` listener (Nest on Express or Fastify):
 * lameduck answers there, ahead of everything the framework runs, and the listeners the server had
 * run only for requests it does not answer. Call before the server listens.
 * @example
 * answerAhead(lameduck, app.getHttpServer());
 */
export function answerAhead(lameduck: Lameduck, server: AttachableServer): void {
  const listeners = server.listeners('request') as ((...args: unknown[]) => void)[];
  server.removeAllListeners('request');
  server.on('request', function lameduckRequest(this: unknown, req: IncomingMessage, res: ServerResponse) {
    if (lameduck.handle(req, res)) return;
    for (const listener of listeners) listener.call(this, req, res);
  });
}
