/** Requests served through the Fetch API (`Bun.serve`, `Deno.serve`): what lameduck answers, and what is in flight. */
import type { Clock } from '../deadline.js';
import { answerProbe, matchesPath, type ProbeSource } from '../probes.js';
import { remoteAddressOf } from './handler.js';
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
  intercept(request: Request, info: unknown): Promise<PlainResponse> | undefined;
  /** `lameduck.fetchFinished()`: the request's response is ready; true when it should close its connection. */
  finished(request: Request): boolean;
  /** In flight now, described. */
  inflight(): InflightRequest[];
  size(): number;
  /** Responses finished since the shutdown started. */
  completed(): number;
}

/** Where the path of an absolute URL starts (`http://host:3000/readyz` → 16), or -1 when it has none. */
function pathStart(url: string): number {
  const authority = url.indexOf('//');
  return url.indexOf('/', authority === -1 ? 0 : authority + 2);
}

/** The path and query of an absolute URL (`http://host:3000/readyz?verbose` → `/readyz?verbose`). */
export function pathOf(url: string): string {
  const slash = pathStart(url);
  return slash === -1 ? '/' : url.slice(slash);
}

/** The view of a Fetch request that the probes read: method, path, user agent and the client's address. */
function probeView(request: Request, url: string, info: unknown): AnyRequest {
  return {
    method: request.method,
    url,
    headers: { 'user-agent': request.headers.get('user-agent') ?? undefined },
    socket: { remoteAddress: remoteAddressOf(request, info) },
  } as unknown as AnyRequest;
}

export function createFetchRequests(source: FetchSource): FetchRequests {
  // Each request in flight and when it started: kept for every request, since nothing else can name one
  // at the deadline; its method and path are read from it only then.
  const inflight = new Map<Request, number>();
  let completed = 0;
  // Read on every GET: held here rather than reached through the manager's view and options each time.
  const { readinessPath, livenessPath, startupPath } = source.probes.options;
  const probePaths = [readinessPath, livenessPath, startupPath].filter((path) => path !== false);

  /** Could the absolute `url` be one of the probes? Read in place, so that other requests slice nothing. */
  function mayBeProbe(url: string): boolean {
    const slash = pathStart(url);
    // No path: it reads as "/", which only a probe path of "/" starts.
    if (slash === -1) return probePaths.includes('/');
    for (const path of probePaths) if (url.startsWith(path, slash)) return true;
    return false;
  }

  /** Served after the listeners closed: on a connection still open while there is time, and the paths kept serving. */
  function servedLate(url: string): boolean {
    if (source.state === 'draining' && !source.nearDeadline.aborted) return true;
    return source.keepServing.length > 0 && source.keepServing.some((path) => matchesPath(url, path));
  }

  return {
    intercept(request, info) {
      const method = request.method;
      if ((method === 'GET' || method === 'HEAD') && mayBeProbe(request.url)) {
        const url = pathOf(request.url);
        const probe = answerProbe(probeView(request, url, info), source.probes);
        if (probe !== undefined) return probe;
      }
      if (!source.accepting()) {
        const url = pathOf(request.url);
        if (!servedLate(url)) return Promise.resolve(source.reject({ method, url }));
      }
      inflight.set(request, source.now());
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
      return [...inflight].map(([request, at]) => ({
        method: request.method,
        url: pathOf(request.url),
        age: Math.round(time - at),
      }));
    },
    size: () => inflight.size,
    completed: () => completed,
  };
}
