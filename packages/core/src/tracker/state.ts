/** The state a tracker's parts share: its servers, connections, what is in flight once shutdown starts, and the drain's flags. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2Session, Http2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { Clock } from '../deadline.js';
import type { AttachableServer, InflightRequest } from '../types.js';

/** A request, stream or upgrade as it is kept: what it was, and when it started (`undefined`: before the shutdown). */
export type Started = Omit<InflightRequest, 'age' | 'olderThanShutdown'> & { started: number | undefined };

/** An HTTP/1 request read on a connection and not answered yet, as known from the shutdown's start. */
export interface Pending {
  readonly req: IncomingMessage;
  /** Its response, when followed through public events (see follow.ts); Node's state holds it otherwise. */
  readonly res?: ServerResponse;
  /** When its headers arrived; `undefined` when that was before the shutdown (Node keeps no time). */
  readonly started: number | undefined;
}

/** One TCP connection: the raw socket and, once a TLS handshake is done, the socket requests use. */
export interface Connection {
  readonly raw: Socket;
  /** The socket requests arrive on: `raw` for HTTP, the TLS socket once its handshake is done. */
  http: Socket | undefined;
  readonly server: AttachableServer;
  readonly owner: object;
  /** When the connection was accepted (or adopted). */
  readonly connectedAt: number;
  timer: NodeJS.Timeout | undefined;
  /** Handed over by an `upgrade` (a WebSocket, say): never idle; closers and the deadline end it. */
  upgrade: Started | undefined;
  /** The HTTP/2 session on this connection: closed with GOAWAY, never idle-closed. */
  session: Http2Session | undefined;
  // From the shutdown's start only (nothing is kept per request while serving):
  /** Requests read and not answered yet, oldest first; pipelined ones queued before the shutdown may be missing. */
  pending: Pending[];
  /** Node's per-socket state could not be read: busy until quiet for idleGrace. */
  unknown: boolean;
  /** The response lameduck set to close the connection (the last one queued), while its head is unsent. */
  closer: ServerResponse | undefined;
  /** A queued request whose response (not reachable yet) is to close the connection. */
  closerRequest: IncomingMessage | undefined;
  /** While draining and idle: when it last showed activity, and `raw.bytesRead` then. */
  idleSince: number;
  bytesSeen: number;
  /** While draining and idle: closed by then even if bytes keep arriving without completing a request. */
  closeBy: number;
  /** Waiting in `closeQueue` to be closed. */
  queued: boolean;
}

export interface ServerEntry {
  /** Attached while listening, and Node's list of its sockets could not be read: some are unknown to us. */
  unadopted: boolean;
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
  /** How many bytes beyond a request's declared body a lingering close reads (see linger.ts). */
  readonly discardLimit: number;
  readonly now: Clock;
  readonly servers: Map<AttachableServer, ServerEntry>;
  readonly connections: Set<Connection>;
  /** From the shutdown's start: the connections with requests in flight (`pending` not empty). */
  readonly busy: Set<Connection>;
  /** HTTP/2 streams in flight, from the shutdown's start. */
  readonly streams: Map<Http2Stream, Started>;
  readonly sessions: Set<Http2Session>;
  /** TLS servers on which a TLS socket could not be linked to its raw socket (see `onSecureConnection`). */
  readonly unlinked: WeakSet<AttachableServer>;
  /** When shutdown started (responses get `Connection: close`, completions are counted); `undefined` while serving. */
  closingSince: number | undefined;
  /** The listeners are closed: idle sockets close, upgrades are refused, sessions get GOAWAY. */
  draining: boolean;
  /** Requests and streams completed since shutdown started. */
  completed: number;
  /** Requests read whose response was never written: their socket closed before their turn. */
  lost: number;
  /** Connections handed over by an upgrade and still open. */
  upgraded: number;
  /** The one sweep of sockets accepted before a late attach that could not be adopted. */
  lateSweep: NodeJS.Timeout | undefined;
  /** Puts back each server's own `closeIdleConnections` (replaced while draining, see idle.ts). */
  readonly restores: (() => void)[];
  /** Idle connections waiting for the next batch to close them, and that batch. */
  readonly closeQueue: Connection[];
  closeBatch: NodeJS.Immediate | undefined;
  /** How many connections are `queued`: when all are, the drain has nothing left to wait for. */
  queuedCount: number;
  /** Ends the drain if nothing but connections being closed is left (set by the tracker). */
  settle: () => void;
  /**
   * Requests are followed through public events (`request`, the response's `close`), with per-request
   * work: from `attach()` until the first response shows that Node's private state and request channels
   * are all there (runtime.ts), and for good when they are not.
   */
  public: boolean;
  /** The runtime check has decided `public` (or the public path was forced). */
  decided: boolean;
  /** On the public path, TLS servers' raw connections by peer address, until their TLS socket shows up. */
  readonly peers: Map<string, Connection>;
  /** Set once destroyed at the deadline: what is lost after that is reported as stuck, not lost. */
  forced: boolean;
  /** Every connection's `bytesSeen` was read in this turn of the event loop (cleared by a microtask). */
  bytesCurrent: boolean;
  /** In this same turn, every connection was reviewed for the drain about to start (cleared with `bytesCurrent`). */
  reviewed: boolean;
}

export function createTrackerState(idleGrace: number, discardLimit: number, now: Clock): TrackerState {
  return {
    owner: {},
    idleGrace,
    discardLimit,
    now,
    servers: new Map(),
    connections: new Set(),
    busy: new Set(),
    streams: new Map(),
    sessions: new Set(),
    unlinked: new WeakSet(),
    closingSince: undefined,
    draining: false,
    completed: 0,
    lost: 0,
    upgraded: 0,
    lateSweep: undefined,
    restores: [],
    closeQueue: [],
    closeBatch: undefined,
    queuedCount: 0,
    settle: () => {},
    public: true,
    decided: false,
    peers: new Map(),
    forced: false,
    bytesCurrent: false,
    reviewed: false,
  };
}

/** The connection of this tracker that `socket` belongs to, if any. */
export function connectionOf(state: TrackerState, socket: Socket | null | undefined): Connection | undefined {
  const connection = (socket as Tagged<Socket> | null | undefined)?.[kConnection];
  return connection !== undefined && connection.owner === state.owner ? connection : undefined;
}

/**
 * How a started request, stream or upgrade is reported at `time`: its age, or, when it started before
 * the shutdown (Node keeps no start time and lameduck keeps none while serving), the time since then.
 */
export function toInflight(state: TrackerState, { method, url, started }: Started, time: number): InflightRequest {
  if (started !== undefined) return { method, url, age: Math.round(time - started) };
  return { method, url, age: Math.round(time - (state.closingSince ?? time)), olderThanShutdown: true };
}

/**
 * When a request or stream is reported to have started: the public path knows it for one that arrived
 * before the shutdown too, but it is reported as the default path reports it, whichever path was taken.
 */
export function reportedStart(state: TrackerState, started: number | undefined): number | undefined {
  const since = state.closingSince;
  return started !== undefined && since !== undefined && started < since ? undefined : started;
}
