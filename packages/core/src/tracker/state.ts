/** The state a tracker's parts share: its servers, connections, requests and streams in flight, and the drain's flags. */
import type { ServerResponse } from 'node:http';
import type { Http2Session, Http2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { Clock } from '../deadline.js';
import type { AttachableServer, InflightRequest } from '../types.js';

/** A request, stream or upgrade as it is kept: what it was, and when it started. */
export type Started = InflightRequest & { started: number };

/** One TCP connection: the raw socket and, once a TLS handshake is done, the socket requests use. */
export interface Connection {
  readonly raw: Socket;
  /** The socket requests arrive on: `raw` for HTTP, the TLS socket once its handshake is done. */
  http: Socket | undefined;
  readonly server: AttachableServer;
  readonly owner: object;
  /** Requests whose response has not closed yet. */
  active: number;
  /** When the connection last showed activity (connected, a response ended, bytes arrived). */
  idleSince: number;
  /** `raw.bytesRead` at `idleSince`; more bytes since then mean a request is on its way. */
  bytesSeen: number;
  timer: NodeJS.Timeout | undefined;
  /** Handed over by an `upgrade` (a WebSocket, say): never idle; closers and the deadline end it. */
  upgrade: Started | undefined;
  /** The HTTP/2 session on this connection: closed with GOAWAY, never idle-closed. */
  session: Http2Session | undefined;
}

export interface ServerEntry {
  /** Attached while already listening: sockets accepted before then are unknown to us. */
  readonly late: boolean;
  closed: boolean;
}

// Symbol.for: a second copy of lameduck (ESM and CJS builds both loaded) must see the same tags.
export const kConnection = Symbol.for('lameduck.connection');
export const kOwner = Symbol.for('lameduck.owner');

/** A socket or server as lameduck tags it. */
export type Tagged<T> = T & { [kConnection]?: Connection; [kOwner]?: object };

/** Everything one tracker knows; its parts read and change it, nothing else does. */
export interface TrackerState {
  /** Tags this tracker's sockets and servers, telling them apart from another manager's. */
  readonly owner: object;
  /** How long a socket must be quiet before a drain closes it. */
  readonly idleGrace: number;
  readonly now: Clock;
  readonly servers: Map<AttachableServer, ServerEntry>;
  readonly connections: Set<Connection>;
  /** HTTP/1 responses in flight, and when their request started. */
  readonly inflight: Map<ServerResponse, number>;
  readonly streams: Map<Http2Stream, Started>;
  readonly sessions: Set<Http2Session>;
  /** TLS servers on which a TLS socket could not be linked to its raw socket (see `onSecureConnection`). */
  readonly unlinked: WeakSet<AttachableServer>;
  /** Shutdown has started: responses get `Connection: close`, completions are counted. */
  closing: boolean;
  /** The listeners are closed: idle sockets close, upgrades are refused, sessions get GOAWAY. */
  draining: boolean;
  /** Requests and streams completed since `closing`. */
  completed: number;
  /** Connections handed over by an upgrade and still open. */
  upgraded: number;
  /** The one sweep of sockets accepted before a late attach. */
  lateSweep: NodeJS.Timeout | undefined;
}

export function createTrackerState(idleGrace: number, now: Clock): TrackerState {
  return {
    owner: {},
    idleGrace,
    now,
    servers: new Map(),
    connections: new Set(),
    inflight: new Map(),
    streams: new Map(),
    sessions: new Set(),
    unlinked: new WeakSet(),
    closing: false,
    draining: false,
    completed: 0,
    upgraded: 0,
    lateSweep: undefined,
  };
}

/** The connection of this tracker that `socket` belongs to, if any. */
export function connectionOf(state: TrackerState, socket: Socket | null | undefined): Connection | undefined {
  const connection = (socket as Tagged<Socket> | null | undefined)?.[kConnection];
  return connection !== undefined && connection.owner === state.owner ? connection : undefined;
}

/** How a started request, stream or upgrade is reported: its age at `time`. */
export function toInflight({ method, url, started }: Started, time: number): InflightRequest {
  return { method, url, age: Math.round(time - started) };
}
