/** The watchdog: a worker thread that ends a shutdown whose main thread is stuck past the deadline, and says where. */
import type { MessagePort, Worker as WorkerThread } from 'node:worker_threads';
import type { Log } from '../logger.js';
import type { LameduckState, SignalHandle } from '../types.js';
import { WORKER_SOURCE } from './worker-source.js';

type WorkerThreads = typeof import('node:worker_threads');

/** How often the main thread beats during shutdown; a main thread that misses beats is blocked. */
const BEAT_INTERVAL = 100;
/** Before shutdown (`watchdog: "always"`), fewer beats: a quarter of `stallWarning`, at most this. */
const SERVING_BEAT_INTERVAL = 250;
/** Past the deadline, a main thread without a beat for this long is stuck: the watchdog acts at once. */
const STALLED_AFTER = 250;
/**
 * Past the deadline, a main thread that still beats but has not finished gets this long before the
 * watchdog ends the process anyway (a shutdown's own result comes well within it).
 */
const LIVE_MARGIN = 1_000;
/** How long the watchdog waits for the main thread's stack before writing its line without it. */
const STACK_LIMIT = 300;
/** How long it then waits for the paused main thread to show the request it handles (a debugger pause). */
const REQUEST_LIMIT = 400;
/** How long `process.exit(1)` on the main thread may take before the watchdog sends `SIGKILL`. */
const EXIT_LIMIT = 500;
/** The most the deadline line can be late by: the documented margin (see docs/how-it-works.md). */
export const WATCHDOG_MARGIN = LIVE_MARGIN + STACK_LIMIT + REQUEST_LIMIT + EXIT_LIMIT;

/** What the watchdog shows as running on the main thread. */
export interface Activity {
  phase?: LameduckState;
  hook?: string;
}

export interface WatchdogOptions {
  readonly watchdog: 'shutdown' | 'always' | false;
  readonly stallWarning: number | false;
  readonly timeout: number;
  /** How the worker writes its line: lameduck's JSON (also with a user logger: it cannot be called), human, or none. */
  readonly format: 'json' | 'human' | 'silent';
}

/** One manager's watchdog. Nothing runs until shutdown starts (or `attached()` with `watchdog: "always"`). */
export interface Watchdog {
  /** A server was attached: with `watchdog: "always"`, watching starts now. */
  attached(): void;
  /** The state changed: the deadline is set when shutdown starts; the watch ends when it has closed. */
  phase(state: LameduckState): void;
  /** A cleanup hook started (`undefined`: it ended). */
  hook(name: string | undefined): void;
  /** `handleSignals()` was called: the watchdog may end the process, until the handle is uninstalled. */
  owns(handle: SignalHandle): SignalHandle;
}

const ACTIVITY_OFFSET = 24;
const ACTIVITY_BYTES = 1_024;

interface Running {
  threads: WorkerThreads;
  worker: WorkerThread;
  /** Where the worker leaves what it found during a stall, read synchronously once the main thread runs again. */
  stalls: MessagePort;
  lastBeat: number;
  /** The heartbeat's period, ms. */
  interval: number;
  ints: Int32Array;
  deadline: Float64Array;
  activity: Uint8Array;
  beat: NodeJS.Timeout | undefined;
}

export function createWatchdog(options: WatchdogOptions, log: Log): Watchdog {
  let running: Running | undefined;
  let unavailable = false;
  let owned = false;
  const activity: Activity = {};
  const wrapped = new WeakSet<SignalHandle>();

  function start(): Running | undefined {
    if (running !== undefined || unavailable || options.watchdog === false) return running;
    const threads = loadWorkerThreads();
    if (threads === undefined) {
      unavailable = true;
      log.warn({}, 'watchdog unavailable: this runtime has no worker_threads; a blocked main thread cannot be ended');
      return undefined;
    }
    const buffer = new SharedArrayBuffer(ACTIVITY_OFFSET + ACTIVITY_BYTES);
    const { port1: stalls, port2 } = new threads.MessageChannel();
    const worker = new threads.Worker(WORKER_SOURCE, {
      eval: true,
      // Not the parent's flags (a loader such as tsx): the worker needs none.
      execArgv: [],
      name: 'lameduck-watchdog',
      transferList: [port2],
      workerData: {
        buffer,
        stalls: port2,
        format: options.format,
        stallWarning: options.stallWarning,
        stalledAfter: STALLED_AFTER,
        liveMargin: LIVE_MARGIN,
        stackLimit: STACK_LIMIT,
        requestLimit: REQUEST_LIMIT,
        exitLimit: EXIT_LIMIT,
      },
    });
    // It watches; it never keeps the process alive.
    worker.unref();
    worker.on('error', (error) => log.warn({ err: error }, 'watchdog failed: a blocked main thread cannot be ended'));
    const ints = new Int32Array(buffer, 0, 4);
    const watched: Running = {
      threads,
      worker,
      stalls,
      lastBeat: performance.now(),
      ints,
      deadline: new Float64Array(buffer, 16, 1),
      activity: new Uint8Array(buffer, ACTIVITY_OFFSET, ACTIVITY_BYTES),
      interval: BEAT_INTERVAL,
      beat: undefined,
    };
    running = watched;
    beatEvery(
      watched,
      options.stallWarning === false
        ? SERVING_BEAT_INTERVAL
        : Math.max(25, Math.min(SERVING_BEAT_INTERVAL, options.stallWarning / 4)),
    );
    Atomics.store(ints, 1, owned ? 1 : 0);
    return running;
  }

  function beatEvery(watched: Running, interval: number): void {
    clearInterval(watched.beat);
    watched.interval = interval;
    watched.beat = setInterval(() => {
      Atomics.add(watched.ints, 0, 1);
      noticeStall(watched);
    }, interval).unref();
  }

  /** Logs a stall that has just ended (a beat came late), with what the worker found during it. */
  function noticeStall(watched: Running): void {
    const at = performance.now();
    const blocked = at - watched.lastBeat - watched.interval;
    watched.lastBeat = at;
    let found: Record<string, unknown> | undefined;
    for (let message = watched.threads.receiveMessageOnPort(watched.stalls); message !== undefined;) {
      found = message.message as Record<string, unknown>;
      message = watched.threads.receiveMessageOnPort(watched.stalls);
    }
    if (options.stallWarning === false || blocked < options.stallWarning) return;
    // Called before every change of activity: what is recorded now is what the stall was stuck in.
    const where = found ?? { ...activity, stack: null, where: 'not read: the watchdog did not get to it in time' };
    log.warn({ ...where, blocked: Math.round(blocked) }, 'event loop was blocked');
  }

  function stop(): void {
    if (running === undefined) return;
    clearInterval(running.beat);
    void running.worker.terminate();
    running.stalls.close();
    running = undefined;
  }

  function record(): void {
    if (running === undefined) return;
    const { written } = new TextEncoder().encodeInto(JSON.stringify(activity), running.activity);
    Atomics.store(running.ints, 3, written);
  }

  return {
    attached() {
      if (options.watchdog === 'always') start();
    },
    phase(state) {
      // A stall that ended just before this change is told now, with what it was stuck in.
      if (running !== undefined) noticeStall(running);
      activity.phase = state;
      if (state === 'lameduck') {
        const watched = start();
        if (watched !== undefined) {
          if (watched.interval !== BEAT_INTERVAL) beatEvery(watched, BEAT_INTERVAL);
          watched.deadline[0] = performance.timeOrigin + performance.now() + options.timeout;
          Atomics.store(watched.ints, 2, 1);
        }
      }
      // Handled signals exit right after 'closed'; until then the watch goes on (an exitCode that spins).
      if (state === 'closed' && !owned) stop();
      record();
    },
    hook(name) {
      if (running !== undefined) noticeStall(running);
      if (name === undefined) delete activity.hook;
      else activity.hook = name;
      record();
    },
    owns(handle) {
      owned = true;
      if (wrapped.has(handle)) return handle;
      wrapped.add(handle);
      if (running !== undefined) Atomics.store(running.ints, 1, 1);
      const uninstall = handle.uninstall;
      handle.uninstall = () => {
        uninstall();
        owned = false;
        if (running !== undefined) Atomics.store(running.ints, 1, 0);
      };
      return handle;
    },
  };
}

/** `node:worker_threads`, or undefined where the runtime has none (read lazily: importing lameduck does nothing). */
function loadWorkerThreads(): WorkerThreads | undefined {
  try {
    const threads = process.getBuiltinModule?.('node:worker_threads');
    return typeof threads?.Worker === 'function' && typeof SharedArrayBuffer === 'function' ? threads : undefined;
  } catch {
    return undefined;
  }
}

/** The format the worker writes in: what `createLog` would write, JSON where a user's logger cannot be called. */
export function lineFormat(
  options: { logger: unknown; silent: boolean },
  human = process.stderr.isTTY === true,
): WatchdogOptions['format'] {
  if (options.silent) return 'silent';
  return options.logger === undefined && human ? 'human' : 'json';
}
