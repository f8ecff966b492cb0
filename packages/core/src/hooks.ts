/** Cleanup hooks: run after the servers have closed, last registered first, each within its own time. */
import { createError } from './errors.js';

/** A cleanup hook; its signal aborts when the hook's time is up. */
export type CleanupHook = (signal: AbortSignal) => unknown;

/** Options of `lameduck.addHook()`. */
export interface HookOptions {
  /** Name used in logs and in the result; defaults to the function's name or `hook #N`. */
  name?: string;
  /** How long this hook may run, in milliseconds; defaults to the manager's `hookTimeout`. */
  timeout?: number;
}

/** A hook that threw, rejected, ran out of time or got no time at all. */
export interface HookFailure {
  name: string;
  error: Error;
  /** The hook did not finish in its time (or was never started because the deadline had passed). */
  timedOut: boolean;
}

/** A registered hook. */
export interface Hook {
  readonly name: string;
  readonly fn: CleanupHook;
  readonly timeout: number;
}

/** Hook runs as they are reported to the caller, one at a time. */
export interface HookEvents {
  failed(failure: HookFailure): void;
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

/** Runs one hook, settling by its timeout at the latest; never throws. */
async function runOne(hook: Hook, limit: number): Promise<HookFailure | undefined> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<HookFailure>((resolve) => {
    timer = setTimeout(() => {
      const error = createError(
        Error,
        'LAMEDUCK_HOOK_TIMEOUT',
        `lameduck: cleanup hook "${hook.name}" did not finish within ${limit} ms`,
      );
      controller.abort(error);
      resolve({ name: hook.name, error, timedOut: true });
    }, limit).unref();
  });
  const ran = (async () => {
    try {
      await hook.fn(controller.signal);
      return undefined;
    } catch (error) {
      return { name: hook.name, error: asError(error), timedOut: false };
    }
  })();
  try {
    return await Promise.race([ran, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs `hooks` last-registered first, one after the other. Each gets `min(hook.timeout, time left
 * until `deadline`)`; a hook that throws or hangs is reported and the next one still runs. Hooks
 * reached after `deadline` are not started and are reported as timed out.
 */
export async function runHooks(
  hooks: readonly Hook[],
  deadline: number,
  now: () => number,
  events: HookEvents,
): Promise<HookFailure[]> {
  const failures: HookFailure[] = [];
  for (let index = hooks.length - 1; index >= 0; index--) {
    const hook = hooks[index]!;
    const left = Math.floor(deadline - now());
    let failure: HookFailure | undefined;
    if (left <= 0) {
      failure = {
        name: hook.name,
        error: createError(
          Error,
          'LAMEDUCK_HOOK_SKIPPED',
          `lameduck: cleanup hook "${hook.name}" was not started: the shutdown deadline had passed`,
        ),
        timedOut: true,
      };
    } else {
      failure = await runOne(hook, Math.min(hook.timeout, left));
    }
    if (failure !== undefined) {
      failures.push(failure);
      events.failed(failure);
    }
  }
  return failures;
}
