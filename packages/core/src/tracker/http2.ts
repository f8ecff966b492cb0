/** HTTP/2: sessions (GOAWAY when the drain starts, destroyed at the deadline) and the streams in flight on them. */
import type { Http2Session, Http2Stream, IncomingHttpHeaders } from 'node:http2';
import type { Socket } from 'node:net';
import type { AttachableServer } from '../types.js';
import { connectionOf, type TrackerState } from './state.js';

/** The HTTP/2 listeners of one tracker (stable functions, so that `detach()` can remove them). */
export interface Http2Listeners {
  onSession(this: AttachableServer, session: Http2Session): void;
  onStream(this: AttachableServer, stream: Http2Stream, headers: IncomingHttpHeaders): void;
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
      const method = headers[':method'] ?? 'GET';
      const url = headers[':path'] ?? '';
      state.streams.set(stream, { method, url, age: 0, started: state.now() });
      stream.once('close', () => {
        if (state.streams.delete(stream) && state.closing) state.completed++;
      });
    },
  };
}

/** GOAWAY: the client opens no new stream here; the streams in flight finish. */
export function closeSessions(state: TrackerState): void {
  for (const session of state.sessions) session.close();
}

/** At the deadline: ends every session and its streams now. */
export function destroySessions(state: TrackerState): void {
  for (const session of state.sessions) session.destroy();
}
