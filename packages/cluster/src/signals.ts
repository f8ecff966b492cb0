/** The primary's opt-in signal handling: SIGHUP rolls, SIGTERM/SIGINT drain every worker, then exit. */
import type { Log } from '@lameduck/core';
import { invalidOption } from '@lameduck/core';
import type { ClusterShutdownResult, RollResult } from './types.js';

/** Options of `cluster.handleSignals()`. */
export interface ClusterSignalOptions {
  /**
   * The signal that starts a rolling restart; `false` for none.
   * @default "SIGHUP"
   * @example cluster.handleSignals({ rollSignal: 'SIGUSR2' })
   */
  rollSignal?: NodeJS.Signals | false;
  /**
   * Signals that drain every worker, then exit with the result's code.
   * @default ["SIGTERM","SIGINT"]
   * @example cluster.handleSignals({ signals: ['SIGTERM'] })
   */
  signals?: NodeJS.Signals[];
  /**
   * Repeats within this long of the first are the same event (a terminal's Ctrl+C reaches the whole
   * process group); a later repeat kills the workers (`SIGKILL`) and exits 1 at once.
   * @default 250
   * @example cluster.handleSignals({ repeatWindow: 1_000 })
   */
  repeatWindow?: number;
}

/** Returned by `cluster.handleSignals()`. */
export interface ClusterSignalHandle {
  /** Removes the listeners. */
  uninstall(): void;
}

interface Target {
  roll(): Promise<RollResult>;
  shutdown(reason: string): Promise<ClusterShutdownResult>;
  readonly pids: number[];
}

/** Installs the primary's listeners. */
export function installClusterSignals(
  target: Target,
  log: Log,
  options: ClusterSignalOptions = {},
): ClusterSignalHandle {
  const rollSignal = options.rollSignal ?? 'SIGHUP';
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const repeatWindow = options.repeatWindow ?? 250;
  if (rollSignal !== false && typeof rollSignal !== 'string')
    throw invalidOption('rollSignal', 'a signal name or false', rollSignal);
  if (!Array.isArray(signals) || !signals.every((signal) => typeof signal === 'string')) {
    throw invalidOption('signals', 'an array of signal names', signals);
  }
  if (typeof repeatWindow !== 'number' || !(repeatWindow >= 0))
    throw invalidOption('repeatWindow', 'a number ≥ 0', repeatWindow);
  let firstAt: number | undefined;

  function onRoll(): void {
    void target.roll();
  }

  function onStop(signal: NodeJS.Signals): void {
    const now = performance.now();
    if (firstAt === undefined) {
      firstAt = now;
      void target.shutdown(signal).then((result) => {
        handle.uninstall();
        process.exit(result.exitCode);
      });
      return;
    }
    if (now - firstAt < repeatWindow) return;
    log.error({ signal, workers: target.pids }, 'second signal: killing the workers and exiting now');
    for (const pid of target.pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    handle.uninstall();
    process.exit(1);
  }

  if (rollSignal !== false) process.on(rollSignal, onRoll);
  for (const signal of signals) process.on(signal, onStop);
  const handle: ClusterSignalHandle = {
    uninstall() {
      if (rollSignal !== false) process.off(rollSignal, onRoll);
      for (const signal of signals) process.off(signal, onStop);
    },
  };
  return handle;
}
