/** The runtime check: whether this runtime has every private read and request channel the tracker's default path needs, seen on a real request. */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { internalsForbidden, missingReads } from './internals.js';

/** Node publishes these for every HTTP/1 request (lib/_http_server.js); Bun 1.4 publishes neither. */
export const REQUEST_START = 'http.server.request.start';
export const RESPONSE_FINISH = 'http.server.response.finish';

/*
 * Nothing in a runtime's version says whether its `node:http` keeps Node's private state or publishes
 * Node's request channels (Bun and Deno both implement `node:http`, each differently), so they are
 * checked where they are used: on the first request a tracked server hands over, and its response.
 * Until that response has finished, requests are followed through public events (the safe path on any
 * runtime), so a shutdown that comes first is still correct.
 */

/** What the check found: `[]` when everything is there, else the names of what is missing. */
export type Verdict = string[];

/** One tracker's check. */
export interface RuntimeCheck {
  /** Starts listening for the channels' messages (at the first `attach()`); returns the verdict at once when the public path is forced. */
  start(): Verdict | undefined;
  /** A request handed over while undecided, the first on its socket: its reads are checked now, its channels as its response finishes. */
  request(req: IncomingMessage, res: ServerResponse, server: object): void;
  /** The response to a request passed to `request()` has finished: returns the verdict (`undefined` for any other request). */
  finished(req: IncomingMessage): Verdict | undefined;
  /** Stops listening (the verdict is in, or the tracker is disposed). */
  stop(): void;
}

export function createRuntimeCheck(): RuntimeCheck {
  // Only the requests seen while undecided, a handful: the check ends with the first finished response.
  const started = new WeakSet<object>();
  const finished = new WeakSet<object>();
  const checked = new WeakMap<object, Verdict>();
  let listening = false;

  const onStart = (message: unknown): void => void started.add((message as { request: object }).request);
  const onFinish = (message: unknown): void => void finished.add((message as { request: object }).request);

  const check: RuntimeCheck = {
    start() {
      if (internalsForbidden()) return ['forced by lameduck.withoutNodeInternals'];
      if (!listening) {
        subscribe(REQUEST_START, onStart);
        subscribe(RESPONSE_FINISH, onFinish);
        listening = true;
      }
      return undefined;
    },
    request(req, res, server) {
      const missing = missingReads(req, res, server);
      // Published before the server emits `request`: by now it has been, or never will be.
      if (!started.has(req)) missing.unshift(`diagnostics_channel '${REQUEST_START}'`);
      checked.set(req, missing);
    },
    finished(req) {
      const verdict = checked.get(req);
      if (verdict === undefined) return undefined;
      // Published before the response's own `finish` listeners run, so before its `close`.
      return finished.has(req) ? verdict : [...verdict, `diagnostics_channel '${RESPONSE_FINISH}'`];
    },
    stop() {
      if (!listening) return;
      unsubscribe(REQUEST_START, onStart);
      unsubscribe(RESPONSE_FINISH, onFinish);
      listening = false;
    },
  };
  return check;
}
