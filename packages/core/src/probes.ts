/** The probes (readiness, liveness, startup): which requests are probes, and what each answers, as JSON or Kubernetes' plain-text list. */
import type { Availability } from './availability.js';
import type { Checks } from './checks.js';
import type { ResolvedOptions } from './options.js';
import type { AnyRequest, CheckOutcome, LameduckState, PlainResponse } from './types.js';

const JSON_HEADERS = Object.freeze({
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
});
const TEXT_HEADERS = Object.freeze({
  'content-type': 'text/plain; charset=utf-8',
  'cache-control': 'no-store',
});
/** Built-in readiness entries that `?exclude=` cannot remove: readiness must fail while shutting down. */
const NOT_EXCLUDABLE: ReadonlySet<string> = new Set(['shutdown']);

/** What the probes need to know about their manager. */
export interface ProbeSource {
  readonly options: Readonly<ResolvedOptions>;
  readonly state: LameduckState;
  readonly reason: string;
  readonly availability: Availability;
  readonly checks: Checks;
  /** Told of every readiness request, before it is answered: who probes, and how often. */
  probed(req: AnyRequest): void;
}

/** A probe request, parsed: one check (`/readyz/<name>`) or all, `?verbose`, `?exclude=<name>` (repeatable). */
export interface ProbeQuery {
  check: string | undefined;
  verbose: boolean;
  exclude: string[];
}

const ALL: ProbeQuery = Object.freeze({ check: undefined, verbose: false, exclude: [] });

/** One line of the plain-text list. */
interface Entry {
  name: string;
  outcome: CheckOutcome;
}

/** A health response: JSON, never cached. */
export function healthResponse(status: number, body: Record<string, unknown>): PlainResponse {
  return { status, headers: { ...JSON_HEADERS }, body };
}

/** `url` is `path`, with or without a query string. */
export function matchesPath(url: string | undefined, path: string | false): boolean {
  if (path === false || url === undefined || !url.startsWith(path)) return false;
  return url.length === path.length || url.charCodeAt(path.length) === 63; // '?'
}

/** `url` as a request to the probe at `path` (or, with `checks`, to one of its checks, `path/<name>`); `undefined` when it is not. */
export function probeQuery(url: string | undefined, path: string | false, checks: boolean): ProbeQuery | undefined {
  if (path === false || url === undefined || !url.startsWith(path)) return undefined;
  if (url.length === path.length) return ALL;
  const next = url.charCodeAt(path.length);
  const queryAt = url.indexOf('?', path.length);
  let check: string | undefined;
  if (next === 47 /* '/' */ && checks) {
    const segment = url.slice(path.length + 1, queryAt === -1 ? undefined : queryAt);
    try {
      check = decodeURIComponent(segment);
    } catch {
      check = segment;
    }
  } else if (next !== 63 /* '?' */) {
    return undefined;
  }
  if (queryAt === -1) return { check, verbose: false, exclude: [] };
  const params = new URLSearchParams(url.slice(queryAt + 1));
  return { check, verbose: params.has('verbose'), exclude: params.getAll('exclude') };
}

const ok: CheckOutcome = Object.freeze({ status: 'ok' });
const failed = (error: string | undefined): CheckOutcome =>
  error === undefined ? { status: 'failed' } : { status: 'failed', error };

/** The plain-text list Kubernetes' own health endpoints answer with `?verbose`. */
function verboseText(label: string, entries: readonly Entry[], passed: boolean, unmatched: readonly string[]): string {
  const lines = entries.map(({ name, outcome }) =>
    outcome.status === 'ok' ? `[+]${name} ok` : `[-]${name} failed: ${outcome.error ?? 'reason withheld'}`,
  );
  if (unmatched.length > 0) {
    const names = unmatched.map((name) => JSON.stringify(name)).join(', ');
    lines.push(`warn: some health checks cannot be excluded: no matches for ${names}`);
  }
  lines.push(`${label} check ${passed ? 'passed' : 'failed'}`);
  return `${lines.join('\n')}\n`;
}

/** `?verbose`: the list; one check: its outcome; else `json`. */
function answer(
  label: string,
  query: ProbeQuery,
  entries: readonly Entry[],
  json: () => PlainResponse,
  unmatched: readonly string[] = [],
): PlainResponse {
  const passed = entries.every((entry) => entry.outcome.status === 'ok');
  const status = passed ? 200 : 503;
  if (query.verbose)
    return { status, headers: { ...TEXT_HEADERS }, body: verboseText(label, entries, passed, unmatched) };
  if (query.check !== undefined) return healthResponse(status, { ...entries[0]!.outcome });
  return json();
}

function notFound(check: string): PlainResponse {
  return healthResponse(404, { status: 'not found', check });
}

/** The startup entry: `starting` and `failed` are failures; the error only when `exposeErrors`. */
function startupOutcome({ availability, options }: ProbeSource): CheckOutcome {
  const status = availability.startup;
  if (status === 'started') return ok;
  if (status === 'starting') return failed('starting');
  return failed(options.exposeErrors ? `startup work failed: ${availability.startupError}` : undefined);
}

function shutdownOutcome(source: ProbeSource): CheckOutcome {
  return source.state === 'serving' ? ok : failed(`shutting down (${source.reason})`);
}

/**
 * The readiness answer: 200 while serving, started and every check passes, 503 otherwise. JSON by
 * default; `query` asks for the plain-text list, one check, or some excluded.
 */
export async function readiness(source: ProbeSource, query: ProbeQuery = ALL): Promise<PlainResponse> {
  const { checks } = source;
  if (query.check !== undefined) {
    const name = query.check;
    if (name === 'startup')
      return answer('readiness', query, [{ name, outcome: startupOutcome(source) }], notFound.bind(null, name));
    if (name === 'shutdown')
      return answer('readiness', query, [{ name, outcome: shutdownOutcome(source) }], notFound.bind(null, name));
    if (!checks.names.includes(name)) return notFound(name);
    const outcomes = await checks.run([name]);
    return answer('readiness', query, [{ name, outcome: outcomes[name]! }], notFound.bind(null, name));
  }
  const excluded = new Set(query.exclude.filter((name) => !NOT_EXCLUDABLE.has(name)));
  const unmatched = query.exclude.filter(
    (name) => NOT_EXCLUDABLE.has(name) || (name !== 'startup' && !checks.names.includes(name)),
  );
  const gateStartup = !excluded.has('startup');
  if (!query.verbose) {
    // The JSON answer short-circuits: nothing is checked while shutting down or starting.
    if (source.state !== 'serving') return shuttingDown(source);
    if (gateStartup && source.availability.startup !== 'started') return starting(source);
  }
  const selected = checks.names.filter((name) => !excluded.has(name));
  const outcomes = selected.length === 0 ? {} : await checks.run(selected);
  // A shutdown that started while the checks ran wins.
  if (!query.verbose && source.state !== 'serving') return shuttingDown(source);
  const entries: Entry[] = [
    ...(gateStartup ? [{ name: 'startup', outcome: startupOutcome(source) }] : []),
    ...selected.map((name) => ({ name, outcome: outcomes[name]! })),
    { name: 'shutdown', outcome: shutdownOutcome(source) },
  ];
  return answer(
    'readiness',
    query,
    entries,
    () => {
      if (selected.length === 0) return healthResponse(200, { status: 'ready' });
      const ready = selected.every((name) => outcomes[name]!.status === 'ok');
      return healthResponse(ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks: outcomes });
    },
    unmatched,
  );
}

function shuttingDown(source: ProbeSource): PlainResponse {
  return healthResponse(503, { status: 'shutting down', reason: source.reason, state: source.state });
}

function starting(source: ProbeSource): PlainResponse {
  if (source.availability.startup === 'starting') return healthResponse(503, { status: 'starting' });
  const { error } = startupOutcome(source) as { error?: string };
  return healthResponse(503, { status: 'startup failed', ...(error === undefined ? {} : { error }) });
}

/**
 * The liveness answer: 200 until the process exits, unless the application marked it broken, its
 * startup work failed, or (with `maxEventLoopDelay`) the event loop is blocked: then 503, so the
 * orchestrator restarts it.
 */
export function liveness(source: ProbeSource, query: ProbeQuery = ALL): PlainResponse {
  const { availability, options } = source;
  const reason =
    availability.brokenReason ??
    (availability.startupError === undefined ? undefined : `startup work failed: ${availability.startupError}`);
  const entries: Entry[] = [
    { name: 'application', outcome: reason === undefined ? ok : failed(options.exposeErrors ? reason : undefined) },
  ];
  if (options.maxEventLoopDelay !== false) {
    const delayed = availability.eventLoop();
    entries.push({ name: 'eventloop', outcome: delayed === undefined ? ok : failed(delayed) });
  }
  let shown = entries;
  if (query.check !== undefined) {
    shown = entries.filter((entry) => entry.name === query.check);
    if (shown.length === 0) return notFound(query.check);
  } else if (query.exclude.length > 0) {
    shown = entries.filter((entry) => !query.exclude.includes(entry.name));
  }
  const unmatched = query.exclude.filter((name) => !entries.some((entry) => entry.name === name));
  return answer(
    'liveness',
    query,
    shown,
    () => {
      if (shown.every((entry) => entry.outcome.status === 'ok'))
        return healthResponse(200, { status: 'alive', state: source.state });
      const checks = Object.fromEntries(shown.map((entry) => [entry.name, entry.outcome]));
      return healthResponse(503, { status: 'broken', state: source.state, checks });
    },
    unmatched,
  );
}

/** The startup answer: 200 once startup has finished, 503 while starting or after startup work failed. */
export function startup(source: ProbeSource, query: ProbeQuery = ALL): PlainResponse {
  const outcome = startupOutcome(source);
  return answer('startup', query, [{ name: 'startup', outcome }], () =>
    outcome.status === 'ok' ? healthResponse(200, { status: 'started' }) : starting(source),
  );
}

/** The probe answer for `req` (GET or HEAD on a probe path), or `undefined` when it is not a probe. */
export function answerProbe(req: AnyRequest, source: ProbeSource): Promise<PlainResponse> | undefined {
  const method = req.method;
  if (method !== 'GET' && method !== 'HEAD') return undefined;
  const { options } = source;
  let query = probeQuery(req.url, options.readinessPath, true);
  if (query !== undefined) {
    source.probed(req);
    return readiness(source, query);
  }
  query = probeQuery(req.url, options.livenessPath, true);
  if (query !== undefined) return Promise.resolve(liveness(source, query));
  query = probeQuery(req.url, options.startupPath, false);
  if (query !== undefined) return Promise.resolve(startup(source, query));
  return undefined;
}
