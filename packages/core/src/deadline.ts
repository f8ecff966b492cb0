/** The one deadline of a shutdown: its clock, the signals that mark its phases, and racing work against a timer. */
import { createError } from './errors.js';

/** Milliseconds from an arbitrary origin, monotonic. Every part of a manager reads time through one. */
export type Clock = () => number;

/** The clock a manager uses unless it is given another (tests may pass their own). */
export const systemClock: Clock = () => performance.now();

/** The instants one shutdown is bounded by, all on the manager's clock. */
export interface Deadline {
  /** When the shutdown started. */
  readonly started: number;
  /** The end of everything: `timeout` after the start. */
  readonly end: number;
  /** When what is still draining is forced: `cleanupReserve` before `end`. */
  readonly drainEnd: number;
  /** When `deadlineSignal` aborts: `abortBefore` before `drainEnd`. */
  readonly nearEnd: number;
}

/** Places the deadline of a shutdown that starts now. */
export function createDeadline(
  now: Clock,
  options: { timeout: number; cleanupReserve: number; abortBefore: number },
): Deadline {
  const started = now();
  const end = started + options.timeout;
  const drainEnd = end - options.cleanupReserve;
  return { started, end, drainEnd, nearEnd: drainEnd - options.abortBefore };
}

/** The three signals of a manager: shutdown started, drain started, the deadline is near. */
export interface PhaseSignals {
  /** `lameduck.signal`: aborts the moment shutdown starts. */
  readonly closing: AbortSignal;
  /** `lameduck.drainSignal`: aborts when the listeners close. */
  readonly draining: AbortSignal;
  /** `lameduck.deadlineSignal`: aborts `abortBefore` before requests are forced (or when they are). */
  readonly nearDeadline: AbortSignal;
  abortClosing(reason: string): void;
  abortDraining(reason: string): void;
  /** Aborts `nearDeadline` at `deadline.nearEnd`; returns the canceller. */
  scheduleNearDeadline(deadline: Deadline, now: Clock): () => void;
  /** Aborts `nearDeadline` now, if it has not aborted yet: the drain deadline has passed. */
  passDeadline(): void;
}

export function createPhaseSignals(): PhaseSignals {
  const closing = new AbortController();
  const draining = new AbortController();
  const nearDeadline = new AbortController();
  return {
    closing: closing.signal,
    draining: draining.signal,
    nearDeadline: nearDeadline.signal,
    abortClosing(reason) {
      closing.abort(createError(Error, 'LAMEDUCK_SHUTTING_DOWN', `lameduck: shutting down (${reason})`));
    },
    abortDraining(reason) {
      draining.abort(createError(Error, 'LAMEDUCK_SHUTTING_DOWN', `lameduck: draining (${reason})`));
    },
    scheduleNearDeadline(deadline, now) {
      const timer = setTimeout(
        () => nearDeadline.abort(createError(Error, 'LAMEDUCK_DEADLINE', 'lameduck: the drain deadline is near')),
        Math.max(0, deadline.nearEnd - now()),
      ).unref();
      return () => clearTimeout(timer);
    },
    passDeadline() {
      if (nearDeadline.signal.aborted) return;
      nearDeadline.abort(createError(Error, 'LAMEDUCK_DEADLINE', 'lameduck: the drain deadline has passed'));
    },
  };
}

/**
 * Races `work` against an unref'd timer of `ms`: resolves to what `work` resolves to, or, when the
 * timer fires first, to what `expire()` returns (it may abort the work). The timer is always cleared.
 * @example const late = await raceTimer(work.then(() => false), 1_000, () => true);
 */
export async function raceTimer<T, E>(work: Promise<T>, ms: number, expire: () => E): Promise<T | E> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<E>((resolve) => {
    timer = setTimeout(() => resolve(expire()), Math.max(0, ms)).unref();
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves true if `promise` is still pending after `ms`. */
export function timedOut(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return raceTimer(
    promise.then(() => false),
    ms,
    () => true,
  );
}
