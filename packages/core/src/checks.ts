/** Readiness checks: each run within `checkTimeout`, on every probe or in the background on an interval (from the first probe). */
import { raceTimer } from './deadline.js';
import type { CheckOutcome, CheckSpec, ReadinessCheck } from './types.js';

/** The readiness checks of one manager. */
export interface Checks {
  /** The names, in the order they were given. */
  readonly names: readonly string[];
  /** Runs (or, for interval checks, reads the last result of) the named checks; error details are withheld unless `expose`. */
  run(names: readonly string[]): Promise<Record<string, CheckOutcome>>;
  /** Stops them: shutdown has started, readiness fails whatever they say. */
  stop(): void;
}

async function runCheck(check: ReadinessCheck, timeout: number): Promise<CheckOutcome> {
  const controller = new AbortController();
  const ran = (async (): Promise<CheckOutcome> => {
    try {
      const value = await check(controller.signal);
      return value === false ? { status: 'failed', error: 'returned false' } : { status: 'ok' };
    } catch (error) {
      return { status: 'failed', error: error instanceof Error ? error.message : String(error) };
    }
  })();
  return raceTimer(ran, timeout, (): CheckOutcome => {
    controller.abort(new Error(`readiness check timed out after ${timeout} ms`));
    return { status: 'timeout', error: `timed out after ${timeout} ms` };
  });
}

/** One check run in the background: its last outcome, or the run in progress when there is none yet. */
interface Background {
  check: ReadinessCheck;
  interval: number;
  last: CheckOutcome | undefined;
  running: Promise<CheckOutcome> | undefined;
  timer: NodeJS.Timeout | undefined;
}

export function createChecks(specs: Readonly<Record<string, CheckSpec>>, timeout: number, expose: boolean): Checks {
  const names = Object.keys(specs);
  const background = new Map<string, Background>();
  for (const name of names) {
    const spec = specs[name]!;
    if (typeof spec !== 'function') {
      background.set(name, { ...spec, last: undefined, running: undefined, timer: undefined });
    }
  }
  let stopped = false;

  function runInBackground(entry: Background): Promise<CheckOutcome> {
    entry.running ??= runCheck(entry.check, timeout).then((outcome) => {
      entry.last = outcome;
      entry.running = undefined;
      // The next run starts an interval after this one ended: a slow check never overlaps itself.
      if (!stopped) entry.timer = setTimeout(runInBackground, entry.interval, entry).unref();
      return outcome;
    });
    return entry.running;
  }

  function outcomeOf(name: string): Promise<CheckOutcome> {
    const entry = background.get(name);
    if (entry === undefined) return runCheck(specs[name] as ReadinessCheck, timeout);
    if (entry.last !== undefined) return Promise.resolve(entry.last);
    // Not run yet: this is the first probe, which waits for the first run; the interval starts from it.
    return runInBackground(entry);
  }

  const checks: Checks = {
    names,
    async run(selected) {
      const results = await Promise.all(selected.map(outcomeOf));
      const outcomes: Record<string, CheckOutcome> = {};
      results.forEach((outcome, index) => {
        outcomes[selected[index]!] = expose || outcome.status === 'ok' ? outcome : { status: outcome.status };
      });
      return outcomes;
    },
    stop() {
      stopped = true;
      for (const entry of background.values()) clearTimeout(entry.timer);
    },
  };
  return checks;
}
