/** One worker as the primary sees it: forked, ready (or not, in time), told to drain, and how it exited. */
import cluster, { type Worker } from 'node:cluster';
import type { WorkerExit } from './types.js';

/** True when a worker drained as it should: told to stop, exited 0 by itself. */
export function drainedCleanly(exit: WorkerExit): boolean {
  return exit.stopped && exit.code === 0 && exit.signal === null && !exit.forced;
}

/** Why a new worker did not become ready. */
export type NotReady = { reason: 'exited'; exit: WorkerExit } | { reason: 'timeout' } | { reason: 'aborted' };

export interface ManagedWorker {
  readonly worker: Worker;
  readonly pid: number;
  /** Resolves once it sent `'ready'`; otherwise why not (exited, `readyTimeout`, or `abort` fired). */
  ready(timeout: number, abort: AbortSignal): Promise<NotReady | undefined>;
  /** Tells it to shut down (`'shutdown'` message, `SIGTERM` if it has no IPC left); `SIGKILL` after `timeout`. */
  stop(timeout: number): Promise<WorkerExit>;
  /** Resolves when it exits, however. */
  readonly exited: Promise<WorkerExit>;
}

/** Forks one worker with `cluster.fork()` and tracks its life. */
export function forkWorker(): ManagedWorker {
  const worker = cluster.fork();
  const pid = worker.process.pid ?? 0;
  let stopped = false;
  let forced = false;
  let isReady = false;
  const exited = new Promise<WorkerExit>((resolve) => {
    worker.once('exit', (code: number | null, signal: string | null) =>
      resolve({ pid, code, signal, forced, stopped }),
    );
  });
  worker.on('message', (message: unknown) => {
    if (message === 'ready') isReady = true;
  });
  // An 'error' (a message sent as the channel closed) must not crash the primary; 'exit' follows.
  worker.on('error', () => {});

  function ready(timeout: number, abort: AbortSignal): Promise<NotReady | undefined> {
    if (isReady) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const done = (outcome: NotReady | undefined): void => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        abort.removeEventListener('abort', onAbort);
        resolve(outcome);
      };
      const onMessage = (message: unknown): void => {
        if (message === 'ready') done(undefined);
      };
      const onAbort = (): void => done({ reason: 'aborted' });
      const timer = setTimeout(() => done({ reason: 'timeout' }), timeout).unref();
      worker.on('message', onMessage);
      if (abort.aborted) onAbort();
      else abort.addEventListener('abort', onAbort, { once: true });
      void exited.then((exit) => done({ reason: 'exited', exit }));
    });
  }

  function stop(timeout: number): Promise<WorkerExit> {
    if (!stopped && worker.process.exitCode === null && worker.process.signalCode === null) {
      stopped = true;
      // The message, not a signal: what PM2 sends too, and it works where signals do not (Windows).
      if (worker.isConnected()) worker.send('shutdown');
      else worker.process.kill('SIGTERM');
      const timer = setTimeout(() => {
        forced = true;
        worker.process.kill('SIGKILL');
      }, timeout).unref();
      void exited.then(() => clearTimeout(timer));
    }
    return exited;
  }

  return { worker, pid, ready, stop, exited };
}
