/** Every 503 lameduck answers (HTTP/1, HTTP/2, a refused upgrade), writing a plain response, and the bounded body discard. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Events } from './channels.js';
import type { Clock } from './deadline.js';
import type { Log } from './logger.js';
import type { ResolvedOptions } from './options.js';
import type { AnyRequest, AnyResponse, LameduckState, PlainResponse } from './types.js';

const REJECT_LOG_INTERVAL = 1_000;

/** HTTP/2 (compatibility API) rather than HTTP/1: no Connection header, and the request is a stream. */
export function isHttp2(req: { httpVersionMajor: number }): boolean {
  return req.httpVersionMajor >= 2;
}

/** What the 503 needs to know about its manager. */
export interface RejectionSource {
  readonly options: Readonly<ResolvedOptions>;
  readonly log: Log;
  readonly now: Clock;
  readonly state: LameduckState;
  readonly reason: string;
  readonly events: Events;
}

/** Builds, counts and logs (at most once a second) the 503s of one manager. */
export interface Rejections {
  /** The 503 for a request that arrived too late to be served (the drain's last stretch, or an HTTP/2 stream after GOAWAY): `Connection: close` on HTTP/1 always. */
  reject(request?: { method?: string; url?: string }): PlainResponse;
  /** How many were built. */
  count(): number;
}

export function createRejections(source: RejectionSource): Rejections {
  let rejected = 0;
  let lastLog = -Infinity;
  return {
    reject(request) {
      const { options, reason } = source;
      rejected++;
      source.events.rejected(request, rejected);
      const time = source.now();
      if (time - lastLog >= REJECT_LOG_INTERVAL) {
        lastLog = time;
        source.log.warn({ rejected, state: source.state }, 'rejected a request that arrived too late to be served');
      }
      const body = options.rejectBody ?? { status: 'shutting down', reason };
      const headers: Record<string, string> = {
        'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
        'cache-control': 'no-store',
        'retry-after': String(options.retryAfter),
        ...options.rejectHeaders,
        connection: 'close',
      };
      return { status: 503, headers, body };
    },
    count: () => rejected,
  };
}

/**
 * The 503 for this request: HTTP/2's without a Connection header (its session got GOAWAY when the
 * drain started); HTTP/1's once up to `discardLimit` bytes of its body have been read and discarded,
 * its connection closed by a lingering close if the body is still arriving (the tracker arranges it
 * for every request of the drain, see linger.ts).
 */
export function rejectRequest(
  req: AnyRequest,
  res: AnyResponse,
  reject: (request: AnyRequest) => PlainResponse,
  { discardLimit }: { discardLimit: number },
): Promise<PlainResponse> {
  if (isHttp2(req)) {
    const response = reject(req);
    delete response.headers.connection;
    return Promise.resolve(response);
  }
  // Survives frameworks that rewrite headers on their error path (Koa's ctx.onerror).
  (res as ServerResponse).shouldKeepAlive = false;
  return discardBody(req as IncomingMessage, discardLimit).then(() => reject(req));
}

function bodyText(response: PlainResponse): string {
  return typeof response.body === 'string' ? response.body : JSON.stringify(response.body);
}

/** Writes `response` on a plain Node response; HEAD gets the headers without the body. */
export function sendPlain(res: ServerResponse, response: PlainResponse, head: boolean): void {
  const body = bodyText(response);
  res.statusCode = response.status;
  for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value);
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(head ? undefined : body);
}

/** Writes a 503 on the raw socket of an upgrade request (no ServerResponse exists for one) and ends it. */
export function refuseOnSocket(socket: Socket, response: PlainResponse): void {
  const body = bodyText(response);
  const headers = Object.entries(response.headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.end(`HTTP/1.1 503 Service Unavailable\r\n${headers}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
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
