/** `lameduck.fetch(handler)`: a Fetch-API handler (`Bun.serve`, `Deno.serve`) with lameduck's answers and `Connection: close` while shutting down. */
import type { PlainResponse } from '../types.js';

/** What the wrapper uses of the manager. */
export interface FetchManager {
  interceptFetch(request: Request, info?: FetchInfo): Promise<PlainResponse> | undefined;
  fetchFinished(request: Request): boolean;
}

/**
 * What a runtime passes its fetch handler beside the request: `Bun.serve` its server (`requestIP()`),
 * `Deno.serve` its `ServeHandlerInfo` (`remoteAddr`). Only the client's address is read, for the probes.
 */
export type FetchInfo = BunFetchInfo | DenoFetchInfo | undefined;

/** What `Bun.serve` passes beside the request: its server. */
export interface BunFetchInfo {
  /** The client's address for `request`. */
  requestIP(request: Request): {
    /** The IP address. */
    address: string;
  } | null;
}

/** What `Deno.serve` passes beside the request: its `ServeHandlerInfo`. */
export interface DenoFetchInfo {
  /** The client's address. */
  remoteAddr: {
    /** The IP address. */
    hostname?: string;
  };
}

/** The client's address, from what the runtime passed beside the request. */
export function remoteAddressOf(request: Request, info: unknown): string | undefined {
  if (info === null || typeof info !== 'object') return undefined;
  const bun = info as { requestIP?: (request: Request) => { address: string } | null };
  if (typeof bun.requestIP === 'function') return bun.requestIP(request)?.address;
  return (info as { remoteAddr?: { hostname?: string } }).remoteAddr?.hostname;
}

/** A plain response lameduck wants sent, as a Fetch `Response`. */
export function toResponse({ status, headers, body }: PlainResponse, head: boolean): Response {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return new Response(head ? null : text, { status, headers });
}

/** `response` with `Connection: close` (copied when its headers are immutable, as a `fetch()` response's are). */
export function closing(response: Response): Response {
  try {
    response.headers.set('connection', 'close');
    return response;
  } catch {
    const copy = new Response(response.body, response);
    copy.headers.set('connection', 'close');
    return copy;
  }
}

/** Wraps `handler`: probes and the last stretch's 503 answered first, the response closing its connection while shutting down. */
export function wrapFetch<Rest extends unknown[], Result extends Response | undefined | void>(
  manager: FetchManager,
  handler: (request: Request, ...rest: Rest) => Result | Promise<Result>,
): (request: Request, ...rest: Rest) => Promise<Result | Response> {
  return async function lameduckFetch(request, ...rest) {
    const answer = manager.interceptFetch(request, rest[0] as FetchInfo);
    if (answer !== undefined) return toResponse(await answer, request.method === 'HEAD');
    let response: Result;
    try {
      response = await handler(request, ...rest);
    } catch (error) {
      manager.fetchFinished(request);
      throw error;
    }
    // No response: the request was upgraded (Bun's server.upgrade()).
    const close = manager.fetchFinished(request);
    return close && response instanceof Response ? closing(response) : response;
  };
}
