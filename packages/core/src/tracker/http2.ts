/** HTTP/2: sessions (GOAWAY when the drain starts, destroyed at the deadline) and, from the shutdown's start, the streams in flight on them. */
import type { Http2Session, Http2Stream, IncomingHttpHeaders } from 'node:http2';
import type { Socket } from 'node:net';
import type { AttachableServer } from '../types.js';
import { sessionStreams, streamRequest } from './internals.js';
import { connectionOf, type Started, type TrackerState } from './state.js';

/** The HTTP/2 listeners of one tracker (stable functions, so that `detach()` can remove them). */
export interface Http2Listeners {
  onSession(this: AttachableServer, session: Http2Session): void;
  onStream(this: AttachableServer, stream: Http2Stream, headers: IncomingHttpHeaders): void;
}

/** Follows `stream` until it closes; counted as completed then. */
function follow(state: TrackerState, stream: Http2Stream, started: Started): void {
  if (state.streams.has(stream) || stream.closed) return;
  state.streams.set(stream, started);
  stream.once('close', () => {
    if (state.streams.delete(stream) && state.closingSince !== undefined) state.completed++;
  });
}

export function createHttp2Listeners(state: TrackerState): Http2Listeners {
  return {
    onSession(session) {
      // session.socket is a proxy that forwards property reads to the socket.
      const connection = connectionOf(state, session.socket as Socket | undefined);
      if (connection === undefined) return;
      connection.session = session;
      state.sessions.add(session);
      session.once('close', () => state.sessions.delete(session));
      if (state.draining) session.close();
    },
    onStream(stream, headers) {
      // Nothing per stream while serving, but on the public path: the shutdown finds those in flight (followStreams).
      if (state.closingSince === undefined && !state.public) return;
      follow(state, stream, { method: headers[':method'] ?? 'GET', url: headers[':path'] ?? '', started: state.now() });
    },
  };
}

/**
 * Shutdown has started: follows the streams open on every session. Their method and path are known
 * through the compatibility API; a stream of the core API started before the shutdown is reported
 * as `UNKNOWN` (Node keeps its headers nowhere). Should Node's session state be unreadable, the
 * streams are not counted; GOAWAY and the server's close still wait for them.
 */
export function followStreams(state: TrackerState): void {
  // On the public path every stream has been followed since it opened.
  if (state.public) return;
  for (const session of state.sessions) {
    for (const stream of sessionStreams(session) ?? []) {
      const request = streamRequest(stream) ?? { method: 'UNKNOWN', url: '' };
      follow(state, stream, { ...request, started: undefined });
    }
  }
}

/** The streams in flight: followed since the shutdown, or as the sessions say now while serving. */
export function inflightStreams(state: TrackerState): Started[] {
  if (state.closingSince !== undefined || state.public) return [...state.streams.values()];
  const streams: Started[] = [];
  for (const session of state.sessions) {
    for (const stream of sessionStreams(session) ?? []) {
      streams.push({ ...(streamRequest(stream) ?? { method: 'UNKNOWN', url: '' }), started: undefined });
    }
  }
  return streams;
}

/** GOAWAY: the client opens no new stream here; the streams in flight finish. */
export function closeSessions(state: TrackerState): void {
  for (const session of state.sessions) session.close();
}

/** At the deadline: ends every session and its streams now. */
export function destroySessions(state: TrackerState): void {
  for (const session of state.sessions) session.destroy();
}
