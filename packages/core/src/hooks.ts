/** Cleanup hooks: registered with their names, timeouts and phases, run after the servers have closed, phase by phase, last registered first. */
import { raceTimer, type Clock } from './deadline.js';
import { createError, invalidOption } from './errors.js';
import type { CleanupHook, HookFailure, HookOptions, HookPhase } from './types.js';

/**
 * The cleanup phases, in the order they run: what still uses resources (a framework's own close, job
 * workers), then the resources (pools, clients), then telemetry (so it records everything before it).
 */
export const HOOK_PHASES: readonly HookPhase[] = ['work', 'resources', 'telemetry'];

/** A registered hook. */
export interface Hook {
  readonly name: string;
  readonly fn: CleanupHook;
  readonly timeout: number;
  readonly phase: HookPhase;
}

/** Hook runs as they are reported to the caller, one at a time. */
export interface HookEvents {
  failed(failure: HookFailure): void;
  /** A hook is about to run (the watchdog names it if the main thread blocks in it). */
  started?(name: string): void;
  /** Every hook, once it has settled (or been skipped): `failure` is `undefined` when it succeeded; `duration` in ms. */
  finished?(name: string, failure: HookFailure | undefined, duration: number): void;
}

/** The hooks of one manager, in the order they were registered. */
export interface Hooks {
  readonly list: readonly Hook[];
  /** Validates and registers `hook`; returns its remover. */
  add(hook: CleanupHook, options: HookOptions | undefined): () => void;
}

export function createHooks(defaultTimeout: number): Hooks {
  const list: Hook[] = [];
  let added = 0;
  return {
    list,
    add(hook, options) {
      if (typeof hook !== 'function') throw invalidOption('hook', 'a function', hook);
      const name = options?.name ?? (hook.name === '' ? `hook #${added + 1}` : hook.name);
      const timeout = options?.timeout ?? defaultTimeout;
      const phase = options?.phase ?? 'resources';
      if (typeof name !== 'string' || name === '') throw invalidOption('name', 'a non-empty string', name);
      if (!Number.isInteger(timeout) || timeout < 1 || timeout > 2_147_483_647) {
        throw invalidOption('timeout', 'a whole number of milliseconds from 1 to 2147483647', timeout);
      }
      if (!HOOK_PHASES.includes(phase)) throw invalidOption('phase', '"work", "resources" or "telemetry"', phase);
      added++;
      const entry: Hook = { name, fn: hook, timeout, phase };
      list.push(entry);
      return () => {
        const index = list.indexOf(entry);
        if (index !== -1) list.splice(index, 1);
      };
    },
  };
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

/** Runs one hook, settling by its timeout at the latest; never throws. */
function runOne(hook: Hook, limit: number): Promise<HookFailure | undefined> {
  const controller = new AbortController();
  const ran = (async () => {
    try {
      await hook.fn(controller.signal);
      return undefined;
    } catch (error) {
      return { name: hook.name, error: asError(error), timedOut: false };
    }
  })();
  return raceTimer(ran, limit, (): HookFailure => {
    const error = createError(
      Error,
      'LAMEDUCK_HOOK_TIMEOUT',
      `lameduck: cleanup hook "${hook.name}" did not finish within ${limit} ms`,
    );
    controller.abort(error);
    return { name: hook.name, error, timedOut: true };
  });
}

/** The order hooks run in: phase by phase, and within a phase last registered first. */
export function hookOrder(hooks: readonly Hook[]): Hook[] {
  return HOOK_PHASES.flatMap((phase) => hooks.filter((hook) => hook.phase === phase).reverse());
}

/**
 * Runs `hooks` in `hookOrder()`, one after the other. Each gets `min(hook.timeout, time left
 * until `deadline`)`; a hook that throws or hangs is reported and the next one still runs. Hooks
 * reached after `deadline` are not started and are reported as timed out.
 */
export async function runHooks(
  hooks: readonly Hook[],
  deadline: number,
  now: Clock,
  events: HookEvents,
): Promise<HookFailure[]> {
  const failures: HookFailure[] = [];
  let deadlineReached = false;
  for (const hook of hookOrder(hooks)) {
    const started = now();
    const left = Math.floor(deadline - started);
    let failure: HookFailure | undefined;
    if (left <= 0 || deadlineReached) {
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
      events.started?.(hook.name);
      failure = await runOne(hook, Math.min(hook.timeout, left));
      // Its timer fires on the event loop's cached time, which can lag the clock: the clock may still
      // show a few milliseconds left, but a hook given all the time left has used up the deadline.
      deadlineReached = failure?.timedOut === true && left <= hook.timeout;
    }
    if (failure !== undefined) {
      failures.push(failure);
      events.failed(failure);
    }
    events.finished?.(hook.name, failure, Math.round(now() - started));
  }
  return failures;
}
