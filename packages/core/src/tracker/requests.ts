/** HTTP/1 requests in flight: seen through Node's request channel (or `track()`), marked to close, counted when done. */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { isHttp2 } from '../responses.js';
import type { AttachableServer, InflightRequest } from '../types.js';
import { responseEnded } from './idle.js';
import type { Sockets } from './sockets.js';
import { connectionOf, toInflight, type Connection, type TrackerState } from './state.js';

const REQUEST_START = 'http.server.request.start';

/** The request tracking of one tracker. */
export interface Requests {
  /** Listens to Node's request channel (once). */
  subscribe(): void;
  unsubscribe(): void;
  /** Tracks a request the channel did not see (its server was not attached yet). Cheap no-op otherwise. */
  track(req: IncomingMessage, res: ServerResponse): void;
}

/**
 * Node then writes `Connection: close` and ends the socket after the response. No header is set:
 * a framework that clears headers on its error path (Koa) would remove it, and once Node has seen
 * the Connection header removed it writes none at all.
 */
function markClose(response: ServerResponse): void {
  if (response.headersSent || isHttp2(response.req)) return;
  response.shouldKeepAlive = false;
}

/** Shutdown has started: responses from now on (and those whose headers are not sent yet) close their connection. */
export function markClosing(state: TrackerState): void {
  state.closing = true;
  for (const response of state.inflight.keys()) markClose(response);
}

/** Every request and HTTP/2 stream in flight, with its age now. */
export function inflightRequests(state: TrackerState): InflightRequest[] {
  const time = state.now();
  const requests = [...state.inflight].map(([response, started]) =>
    toInflight({ method: response.req.method ?? 'GET', url: response.req.url ?? '', age: 0, started }, time),
  );
  const streams = [...state.streams.values()].map((stream) => toInflight(stream, time));
  return [...requests, ...streams];
}

/** `attach` attaches a server first seen through one of its requests. */
export function createRequests(
  state: TrackerState,
  sockets: Sockets,
  attach: (server: AttachableServer) => void,
): Requests {
  let subscribed = false;

  function start(response: ServerResponse, connection: Connection): void {
    connection.active++;
    state.inflight.set(response, state.now());
    response.on('close', onResponseClose);
    if (state.closing) markClose(response);
  }

  function onResponseClose(this: ServerResponse): void {
    if (!state.inflight.delete(this)) return;
    if (state.closing) state.completed++;
    const connection = connectionOf(state, this.req.socket);
    if (connection !== undefined) responseEnded(state, connection);
  }

  function onRequestStart(message: unknown): void {
    const { response, socket, server } = message as {
      response: ServerResponse;
      socket: Socket;
      server: AttachableServer;
    };
    let connection = connectionOf(state, socket);
    if (connection === undefined) {
      if (!state.servers.has(server)) return;
      connection = sockets.adopt(socket, server);
    }
    start(response, connection);
  }

  return {
    subscribe() {
      if (subscribed) return;
      subscribe(REQUEST_START, onRequestStart);
      subscribed = true;
    },
    unsubscribe() {
      if (subscribed) unsubscribe(REQUEST_START, onRequestStart);
      subscribed = false;
    },
    track(req, res) {
      // HTTP/2 requests are tracked as streams.
      if (state.inflight.has(res) || isHttp2(req)) return;
      const socket = req.socket as Socket | null;
      if (socket === null) return;
      let connection = connectionOf(state, socket);
      if (connection === undefined) {
        const server = (socket as unknown as { server?: unknown }).server;
        if (server === undefined || server === null || typeof (server as HttpServer).close !== 'function') return;
        const attachable = server as AttachableServer;
        if (!state.servers.has(attachable)) attach(attachable);
        connection = sockets.adopt(socket, attachable);
      }
      start(res, connection);
    },
  };
}
