/** Requests served through the Fetch API (`Bun.serve`, `Deno.serve`): what lameduck answers, and what is in flight. */
import type { Clock } from '../deadline.js';
import { answerProbe, matchesPath, type ProbeSource } from '../probes.js';
import type { AnyRequest, InflightRequest, LameduckState, PlainResponse } from '../types.js';

/** What the fetch path needs from its manager. */
export interface FetchSource {
  readonly probes: ProbeSource;
  readonly now: Clock;
  readonly state: LameduckState;
  /** The listeners are open (`serving`, `lameduck`). */
  accepting(): boolean;
  readonly keepServing: readonly string[];
  readonly nearDeadline: AbortSignal;
  reject(request: { method: string; url: string }): PlainResponse;
}

/** The Fetch-API requests of one manager. */
export interface FetchRequests {
  /** `lameduck.interceptFetch()`: lameduck's own answer, or `undefined` (the request is then in flight). */
  intercept(request: Request, remoteAddress: string | undefined): Promise<PlainResponse> | undefined;
  /** `lameduck.fetchFinished()`: the request's response is ready; true when it should close its connection. */
  finished(request: Request): boolean;
  /** In flight now, described. */
  inflight(): InflightRequest[];
  size(): number;
  /** Responses finished since the shutdown started. */
  completed(): number;
}

/** Where a request started: kept for every request (nothing else can name it at the deadline) and dropped when it ends. */
interface Started {
  method: string;
  url: string;
  at: number;
}

/** The path and query of an absolute URL (`http://host:3000/readyz?verbose` → `/readyz?verbose`). */
export function pathOf(url: string): string {
  const authority = url.indexOf('//');
  const slash = url.indexOf('/', authority === -1 ? 0 : authority + 2);
  return slash === -1 ? '/' : url.slice(slash);
}

/** The view of a Fetch request that the probes read: method, path, user agent and the client's address. */
function probeView(request: Request, url: string, remoteAddress: string | undefined): AnyRequest {
  return {
    method: request.method,
    url,
    headers: { 'user-agent': request.headers.get('user-agent') ?? undefined },
    socket: { remoteAddress },
  } as unknown as AnyRequest;
}

export function createFetchRequests(source: FetchSource): FetchRequests {
  const inflight = new Map<Request, Started>();
  let completed = 0;

  return {
    intercept(request, remoteAddress) {
      const method = request.method;
      const url = pathOf(request.url);
      if (method === 'GET' || method === 'HEAD') {
        const probe = answerProbe(probeView(request, url, remoteAddress), source.probes);
        if (probe !== undefined) return probe;
      }
      // Served: while listeners are open, on a connection still open in the drain while there is time,
      // and on the paths kept serving to the end. The response says `Connection: close` (see finished()).
      const served =
        source.accepting() ||
        (source.state === 'draining' && !source.nearDeadline.aborted) ||
        (source.keepServing.length > 0 && source.keepServing.some((path) => matchesPath(url, path)));
      if (!served) return Promise.resolve(source.reject({ method, url }));
      inflight.set(request, { method, url, at: source.now() });
      return undefined;
    },
    finished(request) {
      if (!inflight.delete(request)) return source.state !== 'serving';
      if (source.state === 'serving') return false;
      completed++;
      return true;
    },
    inflight() {
      const time = source.now();
      return [...inflight.values()].map(({ method, url, at }) => ({ method, url, age: Math.round(time - at) }));
    },
    size: () => inflight.size,
    completed: () => completed,
  };
}
