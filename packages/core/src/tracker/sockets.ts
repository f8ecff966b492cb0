/** Raw sockets: one connection per TCP socket, the TLS socket linked to it, adopting sockets seen late, destroying them. */
import type { Socket } from 'node:net';
import { Server as TlsServer, type TLSSocket } from 'node:tls';
import type { AttachableServer } from '../types.js';
import { currentRequest, keepAfterResponseTo, tlsParent } from './internals.js';
import { connectionOf, kConnection, type Connection, type Tagged, type TrackerState } from './state.js';

/** The connection listeners of one tracker (stable functions, so that `detach()` can remove them). */
export interface Sockets {
  onConnection(this: AttachableServer, raw: Socket): void;
  onSecureConnection(this: AttachableServer, socket: TLSSocket): void;
  /** A socket accepted before its server was attached shows up with its first request. */
  adopt(socket: Socket, server: AttachableServer): Connection;
  /** Forgets every connection of `server` (on detach): its sockets are no longer ours. */
  forget(server: AttachableServer): void;
}

export function createSockets(state: TrackerState): Sockets {
  function connect(raw: Socket, http: Socket | undefined, server: AttachableServer): Connection {
    const connection: Connection = {
      raw,
      http,
      server,
      owner: state.owner,
      connectedAt: state.now(),
      timer: undefined,
      upgrade: undefined,
      session: undefined,
      pending: [],
      unknown: false,
      closer: undefined,
      closerRequest: undefined,
      idleSince: -Infinity,
      bytesSeen: 0,
      closeBy: Infinity,
      queued: false,
    };
    // Accepted (or adopted) after the shutdown's pass over the sockets: activity counts from now.
    if (state.closingSince !== undefined) {
      connection.idleSince = connection.connectedAt;
      connection.bytesSeen = raw.bytesRead;
    }
    (raw as Tagged<Socket>)[kConnection] = connection;
    if (http !== undefined) (http as Tagged<Socket>)[kConnection] = connection;
    state.connections.add(connection);
    raw.on('close', onSocketClose);
    return connection;
  }

  /** On the public path: the raw connection of a TLS socket, by the peer's address and port (no public link). */
  function linkByPeer(socket: TLSSocket): Connection | undefined {
    if (!state.public) return undefined;
    const key = peerOf(socket);
    const connection = state.peers.get(key);
    state.peers.delete(key);
    return connection;
  }

  function onSocketClose(this: Socket): void {
    const connection = connectionOf(state, this);
    if (connection === undefined) return;
    // A TLS connection whose handshake never completed: its peer's address may be gone by now.
    if (connection.http === undefined && state.peers.size > 0) {
      for (const [key, waiting] of state.peers) if (waiting === connection) state.peers.delete(key);
    }
    state.connections.delete(connection);
    clearTimeout(connection.timer);
    if (connection.upgrade !== undefined) state.upgraded--;
    if (connection.pending.length > 0) countLost(state, connection);
    state.busy.delete(connection);
    unqueue(state, connection);
    // The response it marked will never be written: let go of the mark (and of the hook with the last).
    if (connection.closerRequest !== undefined) keepAfterResponseTo(connection.closerRequest);
    connection.closerRequest = undefined;
  }

  return {
    onConnection(raw) {
      const tls = this instanceof TlsServer;
      const connection = connect(raw, tls ? undefined : raw, this);
      if (tls && state.public) state.peers.set(peerOf(raw), connection);
    },
    onSecureConnection(socket) {
      const connection = connectionOf(state, tlsParent(socket)) ?? linkByPeer(socket);
      if (connection !== undefined) {
        connection.http = socket;
        (socket as Tagged<Socket>)[kConnection] = connection;
        return;
      }
      // Should Node stop exposing `_parent`: track the TLS socket by itself and never idle-close this
      // server's raw sockets, which might carry requests we cannot see; the deadline still bounds them.
      state.unlinked.add(this);
      connect(socket, socket, this);
    },
    adopt(socket, server) {
      const parent = tlsParent(socket);
      return connect(server instanceof TlsServer && parent !== undefined ? parent : socket, socket, server);
    },
    forget(server) {
      for (const connection of state.connections) {
        if (connection.server !== server) continue;
        clearTimeout(connection.timer);
        state.connections.delete(connection);
        state.busy.delete(connection);
        unqueue(state, connection);
        if (connection.upgrade !== undefined) state.upgraded--;
        connection.raw.off('close', onSocketClose);
        delete (connection.raw as Tagged<Socket>)[kConnection];
        if (connection.http !== undefined) delete (connection.http as Tagged<Socket>)[kConnection];
      }
    },
  };
}

/** A TCP peer as both ends of a TLS connection report it. */
function peerOf(socket: Socket): string {
  return `${socket.remoteAddress ?? ''}|${socket.remotePort ?? ''}`;
}

/**
 * `connection` closed with requests in flight. The one whose response was being written ended with
 * the socket (the client left, say); those queued behind it never got their turn: lost.
 */
export function countLost(state: TrackerState, connection: Connection): void {
  if (state.forced) return;
  // Responses are written in order: on the public path the oldest pending one is on the socket now.
  const writing = state.public
    ? connection.pending[0]?.req
    : connection.http === undefined
      ? undefined
      : currentRequest(connection.http);
  for (const { req } of connection.pending) if (req !== writing) state.lost++;
  connection.pending = [];
  state.busy.delete(connection);
}

/** `connection` no longer waits to be closed (closed, forgotten, or taken from the queue). */
export function unqueue(state: TrackerState, connection: Connection): void {
  if (!connection.queued) return;
  connection.queued = false;
  state.queuedCount--;
}

/** Destroys a connection now: its TLS socket, then its raw socket. */
export function destroyConnection(connection: Connection): void {
  clearTimeout(connection.timer);
  connection.timer = undefined;
  if (connection.http !== undefined && connection.http !== connection.raw) connection.http.destroy();
  connection.raw.destroy();
}

/** Destroys every connection still open; returns how many. */
export function destroyAll(state: TrackerState): number {
  let destroyed = 0;
  for (const connection of state.connections) {
    if (connection.raw.destroyed) continue;
    destroyConnection(connection);
    destroyed++;
  }
  // Sockets accepted before a late attach: Node knows them even if we do not.
  for (const server of state.servers.keys()) {
    if ('closeAllConnections' in server) server.closeAllConnections();
  }
  return destroyed;
}
