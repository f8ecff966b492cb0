/** Availability beside the shutdown: startup gating, a liveness the application can fail, and the event-loop delay check. */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Events } from './channels.js';
import { createError, invalidOption } from './errors.js';
import type { StartupStatus, Task } from './types.js';

/** The monitor's sampling resolution, in ms: its samples include it, so it is taken off. */
const RESOLUTION = 10;
/** The event-loop delay is judged over the current window of this length and the one before. */
const WINDOW = 1_000;

/** One manager's startup and liveness. */
export interface Availability {
  readonly startup: StartupStatus;
  /** Why startup failed, when it did. */
  readonly startupError: string | undefined;
  /** Why liveness fails now, or `undefined`. Reading it judges the event-loop delay. */
  broken(): string | undefined;
  /** The application's own reason, if it marked the process broken. */
  readonly brokenReason: string | undefined;
  /** The event-loop delay check, when `maxEventLoopDelay` is set: `undefined` when within it, else why not. */
  eventLoop(): string | undefined;
  addStartupTask<T>(task: Task<T>, signal: AbortSignal): Promise<Awaited<T>>;
  markStarted(): void;
  markBroken(reason: string): void;
  markHealthy(): void;
  /** Starts the event-loop monitor and its window timer, when `maxEventLoopDelay` is set (neither holds the event loop open). */
  start(): void;
  /** Stops it (the manager has closed). */
  stop(): void;
}

export function createAvailability(
  options: { awaitStartup: boolean; maxEventLoopDelay: number | false },
  events: Events,
): Availability {
  let waitingForMark = options.awaitStartup;
  let pending = 0;
  let finished = false;
  let startupError: string | undefined;
  let brokenReason: string | undefined;
  // Two monitors, reset in turn each window: a reset also drops the monitor's next sample (Node
  // measures each sample from the one before, and a reset forgets it), so a delay that ends right at
  // one's reset is still recorded by the other.
  let monitors: [IntervalHistogram, IntervalHistogram] | undefined;
  let rotation: NodeJS.Timeout | undefined;

  const status = (): StartupStatus =>
    startupError !== undefined ? 'failed' : waitingForMark || pending > 0 ? 'starting' : 'started';
  const publish = (): void => events.availability(status(), availability.broken());

  function settleStartup(): void {
    if (status() !== 'started') return;
    finished = true;
    publish();
  }

  /** The longest delay, in ms, since the older of the two resets (1 to 2 s back); an empty monitor's max is 0. */
  function recentDelay([first, second]: [IntervalHistogram, IntervalHistogram]): number {
    return Math.max(0, Math.max(first.max, second.max) / 1e6 - RESOLUTION);
  }

  const availability: Availability = {
    get startup() {
      return status();
    },
    get startupError() {
      return startupError;
    },
    get brokenReason() {
      return brokenReason;
    },
    broken() {
      if (brokenReason !== undefined) return brokenReason;
      if (startupError !== undefined) return `startup failed: ${startupError}`;
      return availability.eventLoop();
    },
    eventLoop() {
      if (monitors === undefined || options.maxEventLoopDelay === false) return undefined;
      const delay = recentDelay(monitors);
      if (delay <= options.maxEventLoopDelay) return undefined;
      return `event loop delayed ${Math.round(delay)} ms (limit ${options.maxEventLoopDelay} ms)`;
    },
    addStartupTask<T>(task: Task<T>, signal: AbortSignal): Promise<Awaited<T>> {
      if (finished || startupError !== undefined) {
        throw createError(
          Error,
          'LAMEDUCK_ALREADY_STARTED',
          `lameduck: addStartupTask() after startup has ${startupError === undefined ? 'finished' : 'failed'}: register startup work before the server listens`,
        );
      }
      let promise: Promise<Awaited<T>>;
      if (typeof task === 'function') {
        promise = (async () => task(signal))() as Promise<Awaited<T>>;
      } else if (task !== null && typeof task === 'object' && typeof task.then === 'function') {
        promise = Promise.resolve(task);
      } else {
        throw invalidOption('task', 'a promise or a function (signal) => work', task);
      }
      pending++;
      promise.then(
        () => {
          pending--;
          settleStartup();
        },
        (error: unknown) => {
          pending--;
          startupError = error instanceof Error ? error.message : String(error);
          publish();
        },
      );
      return promise;
    },
    markStarted() {
      if (!waitingForMark) return;
      waitingForMark = false;
      settleStartup();
    },
    markBroken(reason) {
      if (typeof reason !== 'string' || reason === '') throw invalidOption('reason', 'a non-empty string', reason);
      brokenReason = reason;
      publish();
    },
    markHealthy() {
      if (brokenReason === undefined) return;
      brokenReason = undefined;
      publish();
    },
    start() {
      if (monitors !== undefined || options.maxEventLoopDelay === false) return;
      const pair: [IntervalHistogram, IntervalHistogram] = [
        monitorEventLoopDelay({ resolution: RESOLUTION }),
        monitorEventLoopDelay({ resolution: RESOLUTION }),
      ];
      for (const histogram of pair) histogram.enable();
      monitors = pair;
      let next = 0;
      rotation = setInterval(() => {
        // Not while the other has recorded nothing since its own reset: a delay that ended at that
        // reset is held by this one alone.
        if (pair[1 - next]!.count === 0) return;
        pair[next]!.reset();
        next = 1 - next;
      }, WINDOW).unref();
    },
    stop() {
      clearInterval(rotation);
      for (const histogram of monitors ?? []) histogram.disable();
    },
  };
  return availability;
}
