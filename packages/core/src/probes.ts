/** Readiness and liveness: which requests are probes, what each answers, and running the readiness checks. */
import { raceTimer } from './deadline.js';
import type { ResolvedOptions } from './options.js';
import type { AnyRequest, CheckOutcome, LameduckState, PlainResponse, ReadinessCheck } from './types.js';

const HEALTH_HEADERS = Object.freeze({
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
});

/** What the probes need to know about their manager. */
export interface ProbeSource {
  readonly options: Readonly<ResolvedOptions>;
  readonly state: LameduckState;
  readonly reason: string;
  /** Told of every readiness request, before it is answered: who probes, and how often. */
  probed(req: AnyRequest): void;
}

/** A health response: JSON, never cached. */
export function healthResponse(status: number, body: Record<string, unknown>): PlainResponse {
  return { status, headers: { ...HEALTH_HEADERS }, body };
}

/** `url` is `path`, with or without a query string. */
export function matchesPath(url: string | undefined, path: string | false): boolean {
  if (path === false || url === undefined || !url.startsWith(path)) return false;
  return url.length === path.length || url.charCodeAt(path.length) === 63; // '?'
}

/** The readiness answer: 200 while serving and every check passes, 503 once shutdown starts. */
export async function readiness(source: ProbeSource, req?: AnyRequest): Promise<PlainResponse> {
  if (req !== undefined) source.probed(req);
  const { options } = source;
  if (source.state !== 'serving') return shuttingDown(source);
  if (Object.keys(options.checks).length === 0) return healthResponse(200, { status: 'ready' });
  const { ready, outcomes } = await runChecks(options.checks, options.checkTimeout, options.exposeErrors);
  // A shutdown that started while the checks ran wins.
  if (source.state !== 'serving') return shuttingDown(source);
  return healthResponse(ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks: outcomes });
}

function shuttingDown(source: ProbeSource): PlainResponse {
  return healthResponse(503, { status: 'shutting down', reason: source.reason, state: source.state });
}

/** The liveness answer: 200 until the process exits. */
export function liveness(source: ProbeSource): PlainResponse {
  return healthResponse(200, { status: 'alive', state: source.state });
}

/** The probe answer for `req` (GET or HEAD on a probe path), or `undefined` when it is not a probe. */
export function answerProbe(req: AnyRequest, source: ProbeSource): Promise<PlainResponse> | undefined {
  const method = req.method;
  if (method !== 'GET' && method !== 'HEAD') return undefined;
  if (matchesPath(req.url, source.options.readinessPath)) return readiness(source, req);
  if (matchesPath(req.url, source.options.livenessPath)) return Promise.resolve(liveness(source));
  return undefined;
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

/** Runs every check at once, each within `timeout`; error details are dropped unless `expose`. */
export async function runChecks(
  checks: Readonly<Record<string, ReadinessCheck>>,
  timeout: number,
  expose: boolean,
): Promise<{ ready: boolean; outcomes: Record<string, CheckOutcome> }> {
  const names = Object.keys(checks);
  const results = await Promise.all(names.map((name) => runCheck(checks[name]!, timeout)));
  const outcomes: Record<string, CheckOutcome> = {};
  let ready = true;
  results.forEach((outcome, index) => {
    if (outcome.status !== 'ok') ready = false;
    outcomes[names[index]!] = expose || outcome.status === 'ok' ? outcome : { status: outcome.status };
  });
  return { ready, outcomes };
}
