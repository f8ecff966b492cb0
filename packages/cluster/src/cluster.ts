/** The primary's side: fork the workers, replace them one at a time, drain them all under one deadline. */
import cluster from 'node:cluster';
import { createError, createLog } from '@lameduck/core';
import { resolveClusterOptions, type ClusterOptions, type ResolvedClusterOptions } from './options.js';
import { installClusterSignals, type ClusterSignalHandle, type ClusterSignalOptions } from './signals.js';
import type { ClusterShutdownResult, RollResult, WorkerExit } from './types.js';
import { drainedCleanly, forkWorker, type ManagedWorker, type NotReady } from './worker.js';

/** The handle returned by `createCluster()`. */
export interface LameduckCluster {
  /** Forks the workers; resolves once every one is ready, rejects (`LAMEDUCK_WORKER_…`) if one is not. */
  start(): Promise<void>;
  /** Replaces the workers one at a time (fork, wait ready, drain the old one). Same promise while one runs. */
  roll(): Promise<RollResult>;
  /** Drains every worker at once under `stopTimeout`. Every call returns the same promise. */
  shutdown(reason?: string): Promise<ClusterShutdownResult>;
  /** `SIGHUP` rolls, `SIGTERM`/`SIGINT` shut down and exit with the result's code. Opt-in. */
  handleSignals(options?: ClusterSignalOptions): ClusterSignalHandle;
  /** The pids of the live workers. */
  readonly pids: number[];
  /** The validated options. */
  readonly options: Readonly<ResolvedClusterOptions>;
}

function notReadyError(pid: number, outcome: NotReady, readyTimeout: number) {
  return outcome.reason === 'exited'
    ? createError(
        Error,
        'LAMEDUCK_WORKER_EXITED',
        `lameduck: worker ${pid} exited (${outcome.exit.code ?? outcome.exit.signal}) before it was ready`,
      )
    : createError(
        Error,
        'LAMEDUCK_WORKER_NOT_READY',
        `lameduck: worker ${pid} was not ready within ${readyTimeout} ms (${outcome.reason})`,
      );
}

/**
 * Runs in the primary of a `node:cluster` app. Workers report ready with `notifyReady(lameduck)` and
 * drain with lameduck's `handleSignals()` (it handles the `'shutdown'` message the primary sends).
 * @example
 * if (cluster.isPrimary) createCluster({ workers: 4 }).handleSignals().start();
 * else startServer(); // createLameduck(), handleSignals(), listen(), then notifyReady(lameduck)
 */
export function createCluster(input?: ClusterOptions): LameduckCluster {
  const options = Object.freeze(resolveClusterOptions(input));
  if (!cluster.isPrimary)
    throw createError(Error, 'LAMEDUCK_INVALID_ARGUMENT', 'lameduck: createCluster() runs in the cluster primary only');
  const log = createLog(options.logger, options.silent);
  const live = new Set<ManagedWorker>();
  const closing = new AbortController();
  let rolling: Promise<RollResult> | undefined;
  let shuttingDown: Promise<ClusterShutdownResult> | undefined;

  function spawn(): ManagedWorker {
    const managed = forkWorker();
    live.add(managed);
    void managed.exited.then((exit) => {
      live.delete(managed);
      if (!exit.stopped)
        log.error({ ...exit }, 'worker exited without being told to: not replaced until the next roll');
    });
    return managed;
  }

  /** Forks one worker and waits for it; one that is not ready is shut down again. */
  async function spawnReady(): Promise<{ worker: ManagedWorker; failure?: NotReady }> {
    const worker = spawn();
    const failure = await worker.ready(options.readyTimeout, closing.signal);
    if (failure !== undefined && failure.reason !== 'exited') await worker.stop(options.stopTimeout);
    return { worker, failure };
  }

  async function start(): Promise<void> {
    const results = await Promise.all(Array.from({ length: options.workers - live.size }, spawnReady));
    const failed = results.find((result) => result.failure !== undefined);
    if (failed?.failure !== undefined) throw notReadyError(failed.worker.pid, failed.failure, options.readyTimeout);
    log.info({ workers: [...live].map((worker) => worker.pid) }, 'cluster ready');
  }

  async function replaceAll(): Promise<RollResult> {
    const retired: WorkerExit[] = [];
    const old = [...live];
    // Top up to `workers` as well: a worker that crashed since the last roll is replaced now.
    const steps = Math.max(old.length, options.workers);
    for (let step = 0; step < steps; step++) {
      if (closing.signal.aborted) return { ok: false, retired, failure: { reason: 'shutdown' } };
      const { worker, failure } = await spawnReady();
      if (failure !== undefined) {
        const reason = failure.reason === 'aborted' ? 'shutdown' : failure.reason;
        const exit = failure.reason === 'exited' ? failure.exit : undefined;
        log.error(
          { pid: worker.pid, reason, exit },
          'roll stopped: the new worker did not become ready; the old workers keep serving',
        );
        return { ok: false, retired, failure: { reason, pid: worker.pid, ...(exit ? { exit } : {}) } };
      }
      const previous = old[step];
      if (previous !== undefined && live.has(previous)) {
        const exit = await previous.stop(options.stopTimeout);
        retired.push(exit);
        log.info({ replaced: exit, by: worker.pid }, 'worker replaced');
      }
    }
    const ok = retired.every(drainedCleanly);
    log.info({ ok, retired: retired.length }, 'roll complete');
    return { ok, retired };
  }

  const self: LameduckCluster = {
    start,
    roll() {
      if (shuttingDown !== undefined)
        return Promise.resolve({ ok: false, retired: [], failure: { reason: 'shutdown' } });
      rolling ??= replaceAll().finally(() => (rolling = undefined));
      return rolling;
    },
    shutdown(reason = 'shutdown() called') {
      shuttingDown ??= (async () => {
        closing.abort();
        log.info({ reason, workers: live.size }, 'cluster shutting down: draining every worker');
        const workers = await Promise.all([...live].map((worker) => worker.stop(options.stopTimeout)));
        const exitCode = workers.every(drainedCleanly) ? 0 : 1;
        log.info({ reason, exitCode, workers }, 'cluster shut down');
        return { reason, exitCode, workers } satisfies ClusterShutdownResult;
      })();
      return shuttingDown;
    },
    handleSignals: (signalOptions) => installClusterSignals(self, log, signalOptions),
    get pids() {
      return [...live].map((worker) => worker.pid);
    },
    options,
  };
  return self;
}
