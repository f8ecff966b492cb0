/** HTTP/1 requests in flight: nothing while serving; from the shutdown's start, Node's per-socket state, then its request channels. */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { lingerIfBodyArriving } from '../linger.js';
import type { AttachableServer, InflightRequest } from '../types.js';
import { inflightStreams } from './http2.js';
import { becameIdle, noteActivity, reviewAtDrainStart } from './idle.js';
import {
  closeAfterResponseTo,
  internalsForbidden,
  keepAfterResponseTo,
  socketRequests,
  timersNow,
  type SocketRequests,
} from './internals.js';
import { REQUEST_START, RESPONSE_FINISH } from './runtime.js';
import type { Sockets } from './sockets.js';
import { connectionOf, reportedStart, toInflight, type Connection, type Pending, type TrackerState } from './state.js';

/** What Node publishes on both channels. */
interface ChannelMessage {
  request: IncomingMessage;
  response: ServerResponse;
  socket: Socket;
  server: AttachableServer;
}

/** The request tracking of one tracker. */
export interface Requests {
  /**
   * Shutdown has started: learns what each connection has in flight, lets the last response queued on
   * each close it, and follows Node's request channels until `stop()`.
   */
  start(drainNext: boolean): void;
  /** Stops following the channels and lets go of every response it marked. */
  stop(): void;
  /** A request on a socket this tracker does not know: adopts the socket, attaching its server if need be. */
  track(req: IncomingMessage): void;
}

/** The requests in flight on `connection`: as followed since the shutdown, or as Node says now while serving. */
function pendingOf(state: TrackerState, connection: Connection): Pending[] {
  if (state.closingSince !== undefined || state.public) return connection.pending;
  if (connection.upgrade !== undefined || connection.session !== undefined || connection.http === undefined) return [];
  const known = socketRequests(connection.http);
  return known === undefined ? [] : pendingFrom(known);
}

/** The requests in flight on a socket, from what Node says about it. */
function pendingFrom({ response, last }: SocketRequests): Pending[] {
  if (response === undefined) return [];
  const pending: Pending[] = [{ req: response.req, started: undefined }];
  // Requests queued between the two are in a private array of Node's; they show up as their turn comes.
  if (last !== undefined && last !== response.req) pending.push({ req: last, started: undefined });
  return pending;
}

/** The connections that can have requests in flight: from the shutdown's start, only those known to. */
function candidates(state: TrackerState): Iterable<Connection> {
  return state.closingSince === undefined && !state.public ? state.connections : state.busy;
}

/** How many requests and HTTP/2 streams are in flight (pipelined requests queued before the shutdown may be missing). */
export function inflightCount(state: TrackerState): number {
  let count = inflightStreams(state).length;
  for (const connection of candidates(state)) count += pendingOf(state, connection).length;
  return count;
}

/** Every request and HTTP/2 stream in flight, with its age now. */
export function inflightRequests(state: TrackerState): InflightRequest[] {
  const time = state.now();
  const requests: InflightRequest[] = [];
  for (const connection of candidates(state)) {
    for (const { req, started } of pendingOf(state, connection)) {
      const request = { method: req.method ?? 'GET', url: req.url ?? '', started: reportedStart(state, started) };
      requests.push(toInflight(state, request, time));
    }
  }
  for (const stream of inflightStreams(state)) {
    requests.push(toInflight(state, { ...stream, started: reportedStart(state, stream.started) }, time));
  }
  return requests;
}

/** Lets go of what `connection` marked to close it (a later request arrived: it is now the last). */
function unmark(connection: Connection): void {
  const { closer, closerRequest } = connection;
  // Only a response lameduck set to close (it was keep-alive), and only while its head is unsent.
  if (closer !== undefined && !closer.headersSent) closer.shouldKeepAlive = true;
  if (closerRequest !== undefined) keepAfterResponseTo(closerRequest);
  connection.closer = undefined;
  connection.closerRequest = undefined;
}

/**
 * Node writes `Connection: close` with `response` and ends the socket after it. No header is set: a
 * framework that clears headers on its error path (Koa) would remove it, and once Node has seen the
 * Connection header removed it writes none at all. Only the last response queued on a socket may be
 * marked: Node ends the socket after the marked one and drops the responses queued behind it.
 */
function markLast(connection: Connection, response: ServerResponse): void {
  if (response.headersSent || !response.shouldKeepAlive) return;
  response.shouldKeepAlive = false;
  connection.closer = response;
}

/** Shutdown has started: what `connection` has in flight, and its last response marked to close it. */
function learn(state: TrackerState, connection: Connection): void {
  if (connection.upgrade !== undefined || connection.session !== undefined || connection.http === undefined) return;
  if (state.public) {
    if (!state.decided) adoptUnfollowed(state, connection);
    // Followed since attach(): each pending request comes with its response.
    const last = connection.pending.at(-1);
    if (last === undefined) return;
    lingerIfBodyArriving(last.req, state);
    if (last.res !== undefined) markLast(connection, last.res);
    return;
  }
  const known = socketRequests(connection.http);
  if (known === undefined) {
    // Node's state is unreadable: busy until quiet for idleGrace (see idle.ts); the deadline bounds it.
    connection.unknown = true;
    return;
  }
  if (known.response === undefined && connection.pending.length === 0) return;
  connection.pending = pendingFrom(known);
  const last = connection.pending.at(-1);
  if (last === undefined) return;
  state.busy.add(connection);
  lingerIfBodyArriving(last.req, state);
  const { response } = known;
  if (response !== undefined && response.req === last.req) markLast(connection, response);
  else if (closeAfterResponseTo(last.req)) connection.closerRequest = last.req;
}

/**
 * The shutdown started before the runtime check decided (no response has finished yet), so requests are
 * followed through the server's `request` event: a request handed to the application another way (engine.io
 * takes the server's `request` listeners and calls them only for other paths) was not seen. Where Node's
 * private state can be read, the request it says is in flight is followed from now on.
 */
function adoptUnfollowed(state: TrackerState, connection: Connection): void {
  const response = internalsForbidden() ? undefined : socketRequests(connection.http!)?.response;
  if (response === undefined || connection.pending.some((pending) => pending.req === response.req)) return;
  const req = response.req;
  connection.pending.push({ req, res: response, started: undefined });
  state.busy.add(connection);
  response.on('close', () => {
    if (response.writableFinished) responseFinished(state, connection, req, response);
  });
}

/** A request read on `connection`: in flight; once shutdown has started, its response is the connection's last. */
export function requestStarted(
  state: TrackerState,
  connection: Connection,
  request: IncomingMessage,
  response: ServerResponse | undefined,
): void {
  clearTimeout(connection.timer);
  connection.timer = undefined;
  connection.pending.push({ req: request, res: response, started: state.now() });
  state.busy.add(connection);
  if (state.closingSince === undefined || response === undefined) return;
  unmark(connection);
  markLast(connection, response);
  lingerIfBodyArriving(request, state);
}

/** The response to `request` has finished: counted once shutdown has started, and its connection idle if nothing else is in flight. */
export function responseFinished(
  state: TrackerState,
  connection: Connection,
  request: IncomingMessage,
  response: ServerResponse,
): void {
  if (state.closingSince !== undefined) state.completed++;
  const index = connection.pending.findIndex((pending) => pending.req === request);
  // Responses finish in order: those before it are done too.
  if (index >= 0) connection.pending.splice(0, index + 1);
  if (connection.pending.length === 0) state.busy.delete(connection);
  if (request === connection.closerRequest) keepAfterResponseTo(request);
  if (request === connection.closerRequest || response === connection.closer) {
    connection.closer = undefined;
    connection.closerRequest = undefined;
  }
  // A response that closes the connection ends it now; any other leaves it idle.
  if (connection.pending.length === 0 && response.shouldKeepAlive) becameIdle(state, connection);
}

/** `attach` attaches a server first seen through one of its requests. */
export function createRequests(
  state: TrackerState,
  sockets: Sockets,
  attach: (server: AttachableServer) => void,
): Requests {
  let following = false;

  function connectionFor({ socket, server }: ChannelMessage): Connection | undefined {
    const connection = connectionOf(state, socket);
    if (connection !== undefined || !state.servers.has(server)) return connection;
    return sockets.adopt(socket, server);
  }

  function onRequestStart(message: unknown): void {
    const { request, response } = message as ChannelMessage;
    const connection = connectionFor(message as ChannelMessage);
    if (connection !== undefined) requestStarted(state, connection, request, response);
  }

  function onResponseFinish(message: unknown): void {
    const { request, response } = message as ChannelMessage;
    const connection = connectionFor(message as ChannelMessage);
    if (connection !== undefined) responseFinished(state, connection, request, response);
  }

  return {
    start(drainNext) {
      const time = state.now();
      const timers = state.public ? undefined : timersNow();
      state.closingSince = time;
      // One pass: each socket is read once, for what it has in flight and when it last showed activity,
      // and, when the drain starts in this same turn, what the idleGrace rule makes of it.
      for (const connection of state.connections) {
        learn(state, connection);
        noteActivity(connection, time, timers);
        if (drainNext) reviewAtDrainStart(state, connection, time);
      }
      state.bytesCurrent = true;
      state.reviewed = drainNext;
      queueMicrotask(() => (state.bytesCurrent = state.reviewed = false));
      // On the public path the requests are followed already (follow.ts).
      if (state.public) return;
      subscribe(REQUEST_START, onRequestStart);
      subscribe(RESPONSE_FINISH, onResponseFinish);
      following = true;
    },
    stop() {
      if (following) {
        unsubscribe(REQUEST_START, onRequestStart);
        unsubscribe(RESPONSE_FINISH, onResponseFinish);
      }
      following = false;
      // Only a connection with a request in flight has a response marked.
      for (const connection of state.busy) unmark(connection);
    },
    track(req) {
      const socket = req.socket as Socket | null;
      if (socket === null || connectionOf(state, socket) !== undefined) return;
      const server = (socket as unknown as { server?: unknown }).server;
      if (server === undefined || server === null || typeof (server as HttpServer).close !== 'function') return;
      const attachable = server as AttachableServer;
      if (!state.servers.has(attachable)) attach(attachable);
      // attach() adopts every socket Node lists; this one, should Node's list be unreadable.
      const connection = connectionOf(state, socket) ?? sockets.adopt(socket, attachable);
      if (state.closingSince !== undefined) learn(state, connection);
    },
  };
}
