/** The public-API path: HTTP/1 requests followed from their server's `request` event to their response's `close`, with per-request work. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { AttachableServer } from '../types.js';
import { requestStarted, responseFinished } from './requests.js';
import { createRuntimeCheck, type Verdict } from './runtime.js';
import type { Sockets } from './sockets.js';
import { connectionOf, type Connection, type TrackerState } from './state.js';

/** The events that hand a request to the application: `request`, or one of these when it listens for them. */
const EXPECTING = ['checkContinue', 'checkExpectation'] as const;

/** Whether `req` is followed already on `connection` (its `pending` is short: the requests in flight on one socket), or needs not be. */
export function followed(connection: Connection, req: IncomingMessage): boolean {
  // An upgraded connection's request is not an HTTP response to wait for (@fastify/websocket routes
  // it through Fastify with a response that never finishes): followed as an upgrade (upgrades.ts).
  return connection.upgrade !== undefined || connection.pending.some((pending) => pending.req === req);
}

/** The public path of one tracker. */
export interface Follow {
  /** Follows `server`'s requests while on the public path. */
  attach(server: AttachableServer): void;
  detach(server: AttachableServer): void;
  /**
   * A request seen by an adapter and not followed yet (its server was attached after its `request`
   * event, or something took our `request` listener away): followed from now on.
   */
  adopted(connection: Connection, req: IncomingMessage, res: ServerResponse | undefined): void;
  /** Stops the check and following (the tracker is disposed). */
  stop(): void;
}

/**
 * `choose(missing)` is called once the check is in: `[]` means the default path (Node's private state
 * read at shutdown, then its channels); anything else names what is missing and keeps this path.
 */
export function createFollow(state: TrackerState, sockets: Sockets, choose: (missing: Verdict) => void): Follow {
  const check = createRuntimeCheck();

  function decide(verdict: Verdict): void {
    check.stop();
    // A shutdown already under way keeps the path it started on.
    if (state.closingSince !== undefined && verdict.length === 0) return;
    state.decided = true;
    if (verdict.length === 0) {
      state.public = false;
      for (const server of state.servers.keys()) detachListeners(server);
      for (const connection of state.connections) connection.pending = [];
      state.busy.clear();
      state.peers.clear();
      state.streams.clear();
    }
    choose(verdict);
  }

  function onResponseClose(connection: Connection, req: IncomingMessage, res: ServerResponse): void {
    // Not finished: its socket closed under it; the socket's own `close` counts what it took (sockets.ts).
    if (!res.writableFinished) return;
    if (state.public) responseFinished(state, connection, req, res);
    if (!state.decided) {
      const verdict = check.finished(req);
      if (verdict !== undefined) decide(verdict);
    }
  }

  function follow(connection: Connection, req: IncomingMessage, res: ServerResponse): void {
    // Seen already: an adapter's `intercept()` can come first (Nest's answerAhead() wraps our listener).
    if (followed(connection, req)) return;
    if (!state.decided && connection.pending.length === 0) check.request(req, res, connection.server);
    requestStarted(state, connection, req, res);
    res.on('close', () => onResponseClose(connection, req, res));
  }

  function onRequest(this: AttachableServer, req: IncomingMessage, res: ServerResponse): void {
    // HTTP/2 (a server with allowHTTP1): its streams are followed as streams (http2.ts).
    if (!state.public || req.httpVersionMajor === 2) return;
    const socket = req.socket as Socket | null;
    if (socket === null) return;
    follow(connectionOf(state, socket) ?? sockets.adopt(socket, this), req, res);
  }

  /** Ours goes first on `checkContinue`/`checkExpectation`, but only once the application listens for them. */
  function onNewListener(this: AttachableServer, event: string | symbol, listener: unknown): void {
    if (typeof event !== 'string' || !(EXPECTING as readonly string[]).includes(event) || listener === onRequest)
      return;
    // 'newListener' comes before the listener is added, our own prepend included.
    if (!this.listeners(event).includes(onRequest)) this.prependListener(event, onRequest);
  }

  function detachListeners(server: AttachableServer): void {
    server.off('request', onRequest);
    for (const event of EXPECTING) server.off(event, onRequest);
    server.off('newListener', onNewListener);
  }

  return {
    attach(server) {
      if (!state.decided) {
        const verdict = check.start();
        if (verdict !== undefined) decide(verdict);
      }
      if (!state.public) return;
      server.prependListener('request', onRequest);
      for (const event of EXPECTING) if (server.listenerCount(event) > 0) server.prependListener(event, onRequest);
      server.on('newListener', onNewListener);
    },
    detach: detachListeners,
    adopted(connection, req, res) {
      if (state.public && res !== undefined) follow(connection, req, res);
    },
    stop() {
      check.stop();
      for (const server of state.servers.keys()) detachListeners(server);
    },
  };
}
