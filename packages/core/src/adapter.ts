/** What every framework adapter shares: its options, and the manager they describe. */
import { invalidOption } from './errors.js';
import { createLameduck, type Lameduck } from './lameduck.js';
import { DEFAULTS, type LameduckOptions, type SignalOptions } from './options.js';

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

function isManager(value: unknown): value is Lameduck {
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
export function resolveManager(options: AdapterOptions = {}): Lameduck {
  if (typeof options !== 'object' || options === null) throw invalidOption('options', 'an object', options);
  const { lameduck, handleSignals = DEFAULTS.handleSignals, ...core } = options;
  let manager: Lameduck;
  if (lameduck === undefined) {
    manager = createLameduck(core);
  } else if (!isManager(lameduck)) {
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
