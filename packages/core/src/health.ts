/** Readiness and liveness: what the probes answer, and writing an answer on a plain Node response. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ReadinessCheck } from './options.js';

/** A response lameduck wants sent: the adapters write it in their framework's own idiom. */
export interface PlainResponse {
  status: number;
  /** Lower-case header names. */
  headers: Record<string, string>;
  /** A string is sent as is; an object as JSON. */
  body: string | Record<string, unknown>;
}

/** The result of one readiness check: `ok`, `failed` (threw or returned false) or `timeout`. */
export type CheckOutcome = { status: 'ok' } | { status: 'failed' | 'timeout'; error?: string };

const HEALTH_HEADERS = Object.freeze({
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
});

/** A health response: JSON, never cached. */
export function healthResponse(status: number, body: Record<string, unknown>): PlainResponse {
  return { status, headers: { ...HEALTH_HEADERS }, body };
}

async function runCheck(check: ReadinessCheck, timeout: number): Promise<CheckOutcome> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<CheckOutcome>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error(`readiness check timed out after ${timeout} ms`));
      resolve({ status: 'timeout', error: `timed out after ${timeout} ms` });
    }, timeout).unref();
  });
  const ran = (async (): Promise<CheckOutcome> => {
    try {
      const value = await check(controller.signal);
      return value === false ? { status: 'failed', error: 'returned false' } : { status: 'ok' };
    } catch (error) {
      return { status: 'failed', error: error instanceof Error ? error.message : String(error) };
    }
  })();
  try {
    return await Promise.race([ran, expired]);
  } finally {
    clearTimeout(timer);
  }
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

/** Writes `response` on a plain Node response; HEAD gets the headers without the body. */
export function sendPlain(res: ServerResponse, response: PlainResponse, head: boolean): void {
  const body = typeof response.body === 'string' ? response.body : JSON.stringify(response.body);
  res.statusCode = response.status;
  for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value);
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(head ? undefined : body);
}

/**
 * Reads and discards the body of a request about to be rejected, up to `limit` bytes, so that the
 * connection can close without resetting a client that is still sending. Resolves at once when there
 * is no body, when it is already read, or when its declared length exceeds `limit`.
 */
export function discardBody(req: IncomingMessage, limit: number): Promise<void> {
  if (req.complete || req.readableEnded) return Promise.resolve();
  const chunked = req.headers['transfer-encoding'] !== undefined;
  const length = Number(req.headers['content-length'] ?? 0);
  if (!chunked && (length === 0 || length > limit)) return Promise.resolve();
  return new Promise((resolve) => {
    let seen = 0;
    const done = (): void => {
      req.off('data', onData);
      req.off('end', done);
      req.off('close', done);
      req.off('error', done);
      resolve();
    };
    const onData = (chunk: Buffer): void => {
      seen += chunk.length;
      if (seen > limit) done();
    };
    req.on('data', onData);
    req.on('end', done);
    req.on('close', done);
    req.on('error', done);
    req.resume();
  });
}
