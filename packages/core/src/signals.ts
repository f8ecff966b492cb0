/** The opt-in helper that owns the process: signals start the shutdown, and it decides the exit code. */
import type { Clock } from './deadline.js';
import type { Log } from './logger.js';
import { resolveSignalOptions, type ResolvedSignalOptions, type SignalOptions } from './options.js';
import type { PlatformWarning } from './platform.js';
import { listenForSignals } from './signal-listeners.js';
import type { InflightRequest, LameduckState, ShutdownResult, SignalHandle } from './types.js';

/** What the helper needs from its manager. */
export interface SignalTarget {
  begin(reason: string, skipDelay: boolean): Promise<ShutdownResult>;
  readonly state: LameduckState;
  inflight(): InflightRequest[];
  onStateChange(listener: (state: LameduckState) => void): () => void;
  readonly timeout: number;
  readonly now: Clock;
  /** What the configuration does not fit where the process runs: logged when signals are first handled. */
  readonly warnings: readonly PlatformWarning[];
}

const MAX_LOGGED_STUCK = 20;

/** Installs the listeners; see `SignalOptions` for what each option does. */
export function installSignalHandlers(target: SignalTarget, log: Log, options: ResolvedSignalOptions): SignalHandle {
  let firstSignalAt: number | undefined;
  let failed = false;
  let exiting = false;
  let keepAlive: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;

  function exit(code: number): void {
    if (exiting) return;
    exiting = true;
    handle.uninstall();
    process.exit(code);
  }

  function finish(result: ShutdownResult): void {
    let code: number = result.exitCode;
    if (options.exitCode !== undefined) {
      try {
        code = options.exitCode(result);
      } catch (error) {
        log.error({ err: error }, 'the exitCode option threw; exiting 1');
        code = 1;
      }
    }
    if (failed && code === 0) code = 1;
    exit(code);
  }

  /** Called once, however the shutdown started (a signal, an error or shutdown()). */
  function own(): void {
    if (keepAlive !== undefined) return;
    // The process is ours until the exit decision: without this, a hook that waits on nothing would
    // let the event loop empty and Node exit 0 before that decision. The margin covers the result.
    keepAlive = setTimeout(() => {}, target.timeout + 1_000);
    void target.begin('shutdown() called', false).then(finish);
  }

  function onSignal(signal: string): void {
    const time = target.now();
    if (firstSignalAt === undefined) {
      firstSignalAt = time;
      void target.begin(signal, false);
      own();
      return;
    }
    if (time - firstSignalAt < options.repeatWindow) {
      log.info({ signal }, 'repeated signal ignored: shutdown already in progress');
      return;
    }
    const inflight = target.inflight();
    log.error(
      { signal, inflight: inflight.length, requests: inflight.slice(0, MAX_LOGGED_STUCK) },
      'second signal: exiting now without draining',
    );
    exit(1);
  }

  function onError(error: unknown, origin: string): void {
    failed = true;
    if (target.state !== 'serving') {
      log.error({ err: error, origin }, 'error while shutting down');
      return;
    }
    log.error({ err: error, origin }, 'uncaught error: draining, then exiting 1');
    // The application may be in a broken state: skip the readiness delay and drain at once.
    void target.begin(origin, true);
    own();
  }
  const onException = (error: Error): void => onError(error, 'uncaughtException');
  const onRejection = (reason: unknown): void => onError(reason, 'unhandledRejection');
  // PM2 with shutdown_with_message (its graceful stop on Windows) and @lameduck/cluster send this instead of a signal.
  const onMessage = (message: unknown): void => {
    if (message === 'shutdown') onSignal('shutdown message');
  };

  const stopListening = listenForSignals(options.signals, onSignal);
  if (process.send !== undefined) process.on('message', onMessage);
  if (options.handleErrors) {
    process.on('uncaughtException', onException);
    process.on('unhandledRejection', onRejection);
  }
  if (target.state === 'serving') {
    unsubscribe = target.onStateChange((state) => {
      if (state !== 'serving') own();
    });
  } else {
    own();
  }

  const handle: SignalHandle = {
    uninstall() {
      stopListening();
      process.off('uncaughtException', onException);
      process.off('unhandledRejection', onRejection);
      process.off('message', onMessage);
      unsubscribe?.();
      unsubscribe = undefined;
      clearTimeout(keepAlive);
    },
  };
  return handle;
}

/**
 * `lameduck.handleSignals()`: installs the handlers once (a second call returns the same handle until
 * it is uninstalled).
 */
export function createSignalHandling(
  target: SignalTarget,
  log: Log,
  /** Told of the handle once installed (the watchdog may end the process while it is). */
  installedBy: (handle: SignalHandle) => SignalHandle = (handle) => handle,
): (options?: SignalOptions) => SignalHandle {
  let installed: SignalHandle | undefined;
  return function handleSignals(options) {
    if (installed !== undefined) return installed;
    const handle = installSignalHandlers(target, log, resolveSignalOptions(options));
    for (const warning of target.warnings) log.warn(warning.fields, warning.message);
    installed = handle;
    const uninstall = handle.uninstall;
    handle.uninstall = () => {
      uninstall();
      if (installed === handle) installed = undefined;
    };
    return installedBy(handle);
  };
}
