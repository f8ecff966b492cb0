/** Short lines for a person at a terminal: what lameduck's log records say, without the JSON. */

type Fields = Record<string, unknown>;

/** The messages rendered specially; the same strings the JSON lines carry in `msg`. */
export const MESSAGES = Object.freeze({
  started: 'shutdown started: readiness fails now',
  draining: 'draining',
  complete: 'shutdown complete',
  secondSignal: 'second signal: exiting now without draining',
  listenerClosed: 'listener closed: draining',
});

/** `850 ms`, `2 s`, `12.5 s`. */
export function humanDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  const seconds = Math.round(ms / 100) / 10;
  return `${seconds} s`;
}

function count(value: unknown, one: string, many = `${one}s`): string | undefined {
  const number = typeof value === 'number' ? value : 0;
  return number === 0 ? undefined : `${number} ${number === 1 ? one : many}`;
}

function list(parts: (string | undefined)[]): string {
  return parts.filter((part) => part !== undefined).join(', ');
}

/** What the lame-duck phase of a starting shutdown will do, or undefined when there is none. */
function lameDuckPhrase(fields: Fields): string | undefined {
  const probers = Array.isArray(fields.probers) ? fields.probers.length : 0;
  const upTo = typeof fields.lameDuckMax === 'number' ? ` (up to ${humanDuration(fields.lameDuckMax)})` : '';
  switch (fields.lameDuckMode) {
    case 'probers':
      return `letting ${probers === 1 ? 'the readiness prober' : `${probers} readiness probers`} see it first${upTo}`;
    case 'platform minimum':
      return `waiting ${humanDuration(Number(fields.lameDuckMin))} for the platform to route away first`;
    case 'fixed':
      return fields.readinessDelay === 0
        ? undefined
        : `failing readiness for ${humanDuration(Number(fields.readinessDelay))} first`;
    default:
      return undefined;
  }
}

function started(fields: Fields): string {
  const work = list([count(fields.inflight, 'request'), count(fields.tasks, 'task')]);
  const timeout = typeof fields.timeout === 'number' ? ` (up to ${humanDuration(fields.timeout)})` : '';
  const parts = [`shutting down (${String(fields.reason)})`];
  const lameDuck = lameDuckPhrase(fields);
  if (lameDuck !== undefined) parts.push(lameDuck);
  parts.push(work === '' ? 'nothing in flight' : `waiting for ${work}${timeout}`);
  if (String(fields.reason).startsWith('SIG')) parts.push('press Ctrl+C again to force');
  return parts.join('; ');
}

function complete(fields: Fields): string {
  const durations = (fields.durations ?? {}) as { total?: number };
  const total = humanDuration(durations.total ?? 0);
  if (fields.graceful === true) return `shut down in ${total}`;
  const problems = list([
    count(fields.stuckRequests, 'request'),
    count(fields.stuckUpgrades, 'upgraded connection'),
    count(fields.abandonedTasks, 'task'),
  ]);
  const hooks = Array.isArray(fields.hookFailures) && fields.hookFailures.length > 0;
  const forced =
    fields.forced === true ? `forced at the deadline${problems === '' ? '' : `: ${problems} cut off`}` : '';
  const failed = hooks ? `cleanup failed: ${(fields.hookFailures as unknown[]).join(', ')}` : '';
  return `shut down in ${total}, ${list([forced || undefined, failed || undefined])}`;
}

/**
 * One line, without the trailing newline: `lameduck: …`, with `warning:`/`error:` when not info;
 * `undefined` for a record a person does not need (the listener closing: the start line already said
 * what the drain waits for).
 */
export function humanLine(level: 'info' | 'warn' | 'error', fields: Fields, message: string): string | undefined {
  let text: string;
  if (message === MESSAGES.listenerClosed) return undefined;
  if (message === MESSAGES.started) text = started(fields);
  else if (message === MESSAGES.complete) text = complete(fields);
  else if (message === MESSAGES.draining) {
    const left = list([
      count(fields.inflight, 'request'),
      count(fields.connections, 'connection'),
      count(fields.tasks, 'task'),
    ]);
    text = `waiting for ${left} (${String(fields.secondsLeft)} s left)`;
  } else if (message === MESSAGES.secondSignal) {
    text = `second ${String(fields.signal)}: exiting now${fields.inflight ? `, ${count(fields.inflight, 'request')} cut off` : ''}`;
  } else {
    const error = fields.err instanceof Error ? `: ${fields.err.message}` : '';
    text = `${message}${error}`;
  }
  const prefix = level === 'info' ? '' : level === 'warn' ? 'warning: ' : 'error: ';
  return `lameduck: ${prefix}${text}`;
}
