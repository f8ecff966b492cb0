/** Background work the drain waits for: tasks, and closers (started when the drain starts, awaited like tasks). */
import { createError, invalidOption } from './errors.js';
import type { Log } from './logger.js';
import type { LameduckState, Task } from './types.js';

type Closer = (signal: AbortSignal) => unknown;

/** What tasks need to know about their manager. */
export interface TaskSource {
  readonly phase: { readonly state: LameduckState };
  /** `lameduck.signal`, handed to function tasks. */
  readonly signal: AbortSignal;
}

/** The tasks and closers of one manager. */
export interface Tasks {
  /** `lameduck.addTask()`. */
  add<T>(task: Task<T>): Promise<Awaited<T>>;
  /** `lameduck.addCloser()`. */
  addCloser(closer: Closer, options: { name?: string } | undefined): () => void;
  /** Tasks still running. */
  size(): number;
  /** Resolves once no task is running. */
  whenDone(): Promise<void>;
  /** Starts every closer with `signal` (`deadlineSignal`), each awaited as a task; failures are logged. */
  startClosers(signal: AbortSignal, log: Log): void;
}

export function createTasks(source: TaskSource): Tasks {
  const running = new Set<Promise<unknown>>();
  const closers: { name: string; closer: Closer }[] = [];
  let done: (() => void) | undefined;

  function settled(tracked: Promise<unknown>): void {
    running.delete(tracked);
    if (running.size === 0 && done !== undefined) {
      done();
      done = undefined;
    }
  }

  const tasks: Tasks = {
    add<T>(task: Task<T>): Promise<Awaited<T>> {
      const state = source.phase.state;
      if (state === 'cleanup' || state === 'closed') {
        throw createError(
          Error,
          'LAMEDUCK_SHUTTING_DOWN',
          `lameduck: addTask() after the drain has ended (state "${state}"): the task could not be waited for`,
        );
      }
      let promise: Promise<Awaited<T>>;
      if (typeof task === 'function') {
        promise = (async () => task(source.signal))() as Promise<Awaited<T>>;
      } else if (task !== null && typeof task === 'object' && typeof task.then === 'function') {
        promise = Promise.resolve(task);
      } else {
        throw invalidOption('task', 'a promise or a function (signal) => work', task);
      }
      const tracked = promise.then(
        () => undefined,
        () => undefined,
      );
      running.add(tracked);
      void tracked.then(() => settled(tracked));
      return promise;
    },
    addCloser(closer, options) {
      if (typeof closer !== 'function') throw invalidOption('closer', 'a function', closer);
      const entry = { name: options?.name ?? (closer.name || `closer #${closers.length + 1}`), closer };
      closers.push(entry);
      return () => {
        const index = closers.indexOf(entry);
        if (index !== -1) closers.splice(index, 1);
      };
    },
    size: () => running.size,
    whenDone() {
      if (running.size === 0) return Promise.resolve();
      return new Promise((resolve) => {
        done = resolve;
      });
    },
    startClosers(signal, log) {
      for (const { name, closer } of closers) {
        // Awaited like a task; its signal is deadlineSignal: the time to be polite is nearly up.
        const closed = (async () => closer(signal))();
        void tasks.add(closed).catch((error: unknown) => {
          log.warn({ closer: name, err: error }, 'closer failed');
        });
      }
    },
  };
  return tasks;
}
