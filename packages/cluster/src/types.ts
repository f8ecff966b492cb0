/** The types the cluster's parts share (the primary, its signal handling, its workers); it imports nothing, so nothing imports in a cycle. */

/** How a worker ended. */
export interface WorkerExit {
  /** The worker's process id. */
  pid: number;
  /** Exit code, `null` when a signal ended it. */
  code: number | null;
  /** The signal that ended it (`SIGKILL` when forced), `null` when it exited by itself. */
  signal: string | null;
  /** Killed with `SIGKILL` after `stopTimeout`: it did not finish draining in time. */
  forced: boolean;
  /** It was told to shut down (a roll or the cluster's shutdown); `false` for a crash. */
  stopped: boolean;
}

/** Why a roll stopped before replacing every worker. */
export interface RollFailure {
  /** `exited`: the new worker died before it was ready; `timeout`: it was not ready within `readyTimeout`; `shutdown`: the cluster began shutting down. */
  reason: 'exited' | 'timeout' | 'shutdown';
  /** The new worker that failed (absent for `shutdown`). */
  pid?: number;
  /** How it exited, for `exited`. */
  exit?: WorkerExit;
}

/** What `roll()` did. */
export interface RollResult {
  /** Every worker was replaced, each old one drained cleanly (exit 0). */
  ok: boolean;
  /** The old workers that were retired, in order, and how they exited. */
  retired: WorkerExit[];
  /** Set when the roll stopped early; the workers not yet replaced keep serving. */
  failure?: RollFailure;
}

/** What `shutdown()` did. */
export interface ClusterShutdownResult {
  /** What started it: a signal name, or the reason passed to `shutdown()`. */
  reason: string;
  /** 0 when every worker drained and exited 0 in time, 1 otherwise. */
  exitCode: 0 | 1;
  /** How each worker exited. */
  workers: WorkerExit[];
}
