/** `drainWorker()`: a BullMQ worker stops taking jobs when the shutdown starts; the drain waits for its active jobs, cancelled near the deadline. */
import { invalidOption } from '../errors.js';
import type { Lameduck } from '../lameduck.js';

/** What `drainWorker()` needs of a BullMQ `Worker` (5.x, 6.x). No import of bullmq. */
export interface QueueWorkerLike {
  /** Stops fetching jobs, waits for the active ones to settle, then closes the worker's connections. */
  close(): Promise<void>;
  /** Aborts the signal every active job's processor got as its third argument. */
  cancelAllJobs(reason?: string): void;
}

/**
 * Drains a BullMQ worker with the manager: when the shutdown starts the worker stops fetching jobs
 * (`worker.close()`), and the drain waits for its active jobs like a task; when `deadlineSignal` aborts
 * (`abortBefore` before the deadline) the jobs still running are cancelled (`worker.cancelAllJobs()`),
 * so that a processor that takes `(job, token, signal)` moves its job back to the queue
 * (`job.moveToWait(token)`, then `throw new WaitingError()`) instead of leaving it to stall. A worker with
 * no HTTP server drains the same way. Returns a remover.
 * @example
 * const worker = new Worker('emails', send, { connection });
 * drainWorker(lameduck, worker);
 */
export function drainWorker(lameduck: Lameduck, worker: QueueWorkerLike): () => void {
  if (
    worker === null ||
    typeof worker !== 'object' ||
    typeof worker.close !== 'function' ||
    typeof worker.cancelAllJobs !== 'function'
  ) {
    throw invalidOption('worker', 'a BullMQ Worker (with close() and cancelAllJobs())', worker);
  }
  function stop(): void {
    // close() reports its own failures on the worker's 'error' event and resolves.
    lameduck.addTask(worker.close()).catch(() => {});
  }
  function cancel(): void {
    worker.cancelAllJobs('lameduck: the shutdown deadline is near');
  }
  if (lameduck.signal.aborted) stop();
  else lameduck.signal.addEventListener('abort', stop, { once: true });
  if (lameduck.deadlineSignal.aborted) cancel();
  else lameduck.deadlineSignal.addEventListener('abort', cancel, { once: true });
  return () => {
    lameduck.signal.removeEventListener('abort', stop);
    lameduck.deadlineSignal.removeEventListener('abort', cancel);
  };
}
