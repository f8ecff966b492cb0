/** Tracks attached servers, their raw sockets and the requests in flight; closes them during a drain. */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Http2Server, Http2SecureServer, Http2Session, Http2Stream, IncomingHttpHeaders } from 'node:http2';
import type { Server as HttpsServer } from 'node:https';
import { Socket } from 'node:net';
import { Server as TlsServer, type TLSSocket } from 'node:tls';
import { createError } from './errors.js';
import type { PlainResponse } from './health.js';

/**
 * A server lameduck can drain: `http.Server`, `https.Server` (Express, Koa and Fastify use these), or
 * an HTTP/2 server from `http2.createServer()` / `http2.createSecureServer()`.
 */
export type AttachableServer = HttpServer | HttpsServer | Http2Server | Http2SecureServer;

/** A request that was still in flight when it was looked at (at the deadline, say). */
export interface InflightRequest {
  method: string;
  url: string;
  /** Milliseconds since the request's headers arrived. */
  age: number;
}

/** One TCP connection: the raw socket and, once a TLS handshake is done, the socket requests use. */
interface Connection {
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
  upgrade: (InflightRequest & { started: number }) | undefined;
  /** The HTTP/2 session on this connection: closed with GOAWAY, never idle-closed. */
  session: Http2Session | undefined;
}

interface ServerEntry {
  /** Attached while already listening: sockets accepted before then are unknown to us. */
  readonly late: boolean;
  closed: boolean;
}

type Tagged<T> = T & { [kConnection]?: Connection; [kOwner]?: object };

// Symbol.for: a second copy of lameduck (ESM and CJS builds both loaded) must see the same tags.
const kConnection = Symbol.for('lameduck.connection');
const kOwner = Symbol.for('lameduck.owner');
const REQUEST_START = 'http.server.request.start';

const now = (): number => performance.now();
const noop = (): void => {};

/** The internal tracker a manager drives; not part of the public API. */
export interface Tracker {
  attach(server: AttachableServer): void;
  detach(server: AttachableServer): void;
  /** Tracks a request the channel did not see (its server was not attached yet). Cheap no-op otherwise. */
  track(req: IncomingMessage, res: ServerResponse): void;
  /** Connections handed over by an `upgrade` and still open. */
  readonly upgradedCount: () => number;
  readonly servers: () => AttachableServer[];
  readonly inflightCount: () => number;
  readonly connectionCount: () => number;
  readonly inflight: () => InflightRequest[];
  /** Responses from now on (and those whose headers are not sent yet) carry `Connection: close`. */
  markClosing(): void;
  /** Closes the listeners and every socket once idle; resolves when every server has closed. */
  drain(): Promise<void>;
  /**
   * Destroys every socket left; returns what was still in flight (requests and HTTP/2 streams), the
   * upgraded connections still open, and how many sockets were destroyed.
   */
  force(): { stuck: InflightRequest[]; upgrades: InflightRequest[]; destroyed: number };
  /** Requests that completed after `markClosing()`. */
  readonly completedWhileClosing: () => number;
  /** Stops listening to the request channel and clears every timer. */
  dispose(): void;
}

/** What the tracker needs from its manager. */
export interface TrackerSettings {
  /** How long a socket must be quiet before a drain closes it. */
  idleGrace: number;
  /** Called for an upgrade refused because the listener had closed; returns the 503 to send. */
  refuseUpgrade(): PlainResponse;
}

function toInflight(method: string, url: string, started: number, time: number): InflightRequest {
  return { method, url, age: Math.round(time - started) };
}

/** Creates the tracker a manager drives. */
export function createTracker({ idleGrace, refuseUpgrade }: TrackerSettings): Tracker {
  const owner = {};
  const servers = new Map<AttachableServer, ServerEntry>();
  const connections = new Set<Connection>();
  const inflight = new Map<ServerResponse, number>();
  const streams = new Map<Http2Stream, InflightRequest & { started: number }>();
  const sessions = new Set<Http2Session>();
  /** TLS servers on which a TLS socket could not be linked to its raw socket (see onSecureConnection). */
  const unlinked = new WeakSet<AttachableServer>();
  let closing = false;
  let draining = false;
  let completed = 0;
  let subscribed = false;
  let upgraded = 0;
  let lateSweep: NodeJS.Timeout | undefined;
  let resolveDrained: (() => void) | undefined;

  function connect(raw: Socket, http: Socket | undefined, server: AttachableServer): Connection {
    const connection: Connection = {
      raw,
      http,
      server,
      owner,
      active: 0,
      idleSince: now(),
      bytesSeen: raw.bytesRead,
      timer: undefined,
      upgrade: undefined,
      session: undefined,
    };
    (raw as Tagged<Socket>)[kConnection] = connection;
    if (http !== undefined) (http as Tagged<Socket>)[kConnection] = connection;
    connections.add(connection);
    raw.on('close', onSocketClose);
    return connection;
  }

  function onConnection(this: AttachableServer, raw: Socket): void {
    connect(raw, this instanceof TlsServer ? undefined : raw, this);
  }

  function onSecureConnection(this: AttachableServer, socket: TLSSocket): void {
    // Workaround: Node links a TLS socket to its raw TCP socket only through the private `_parent`;
    // there is no public link, and a stalled handshake is visible only on the raw socket.
    const parent = (socket as unknown as { _parent?: unknown })._parent;
    const connection = parent instanceof Socket ? (parent as Tagged<Socket>)[kConnection] : undefined;
    if (connection !== undefined && connection.owner === owner) {
      connection.http = socket;
      (socket as Tagged<Socket>)[kConnection] = connection;
      return;
    }
    // Should Node stop exposing `_parent`: track the TLS socket by itself and never idle-close this
    // server's raw sockets, which might carry requests we cannot see; the deadline still bounds them.
    unlinked.add(this);
    connect(socket, socket, this);
  }

  function onUpgrade(this: AttachableServer, req: IncomingMessage, socket: Socket): void {
    const connection = (socket as Tagged<Socket>)[kConnection];
    if (connection === undefined || connection.owner !== owner) return;
    if (draining) {
      // The application's own upgrade listener still runs after this one; it finds the socket ending.
      const response = refuseUpgrade();
      const body = typeof response.body === 'string' ? response.body : JSON.stringify(response.body);
      const headers = Object.entries(response.headers)
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('');
      socket.end(
        `HTTP/1.1 503 Service Unavailable\r\n${headers}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      return;
    }
    connection.upgrade = { method: req.method ?? 'GET', url: req.url ?? '', age: 0, started: now() };
    upgraded++;
  }

  /** Our upgrade listener goes first, but only once the application listens for upgrades itself. */
  function onNewListener(this: AttachableServer, event: string | symbol, listener: unknown): void {
    // 'newListener' comes before the listener is added, our own prepend included.
    if (event !== 'upgrade' || listener === onUpgrade || this.listeners('upgrade').includes(onUpgrade)) return;
    this.prependListener('upgrade', onUpgrade);
  }

  function onSession(this: AttachableServer, session: Http2Session): void {
    // session.socket is a proxy that forwards property reads to the socket.
    const connection = (session.socket as Tagged<Socket> | undefined)?.[kConnection];
    if (connection === undefined || connection.owner !== owner) return;
    connection.session = session;
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    if (draining) session.close();
  }

  function onStream(this: AttachableServer, stream: Http2Stream, headers: IncomingHttpHeaders): void {
    const method = headers[':method'] ?? 'GET';
    const url = headers[':path'] ?? '';
    streams.set(stream, { method, url, age: 0, started: now() });
    stream.once('close', () => {
      if (streams.delete(stream) && closing) completed++;
    });
  }

  function onSocketClose(this: Socket): void {
    const connection = (this as Tagged<Socket>)[kConnection];
    if (connection === undefined || connection.owner !== owner) return;
    connections.delete(connection);
    clearTimeout(connection.timer);
    if (connection.upgrade !== undefined) upgraded--;
  }

  function onServerClose(this: AttachableServer): void {
    const entry = servers.get(this);
    if (entry === undefined) return;
    entry.closed = true;
    settleDrain();
  }

  function settleDrain(): void {
    if (resolveDrained === undefined) return;
    for (const entry of servers.values()) if (!entry.closed) return;
    resolveDrained();
    resolveDrained = undefined;
  }

  function onRequestStart(message: unknown): void {
    const { response, socket, server } = message as {
      response: ServerResponse;
      socket: Socket;
      server: AttachableServer;
    };
    let connection = (socket as Tagged<Socket>)[kConnection];
    if (connection === undefined || connection.owner !== owner) {
      if (!servers.has(server)) return;
      connection = adopt(socket, server);
    }
    start(response, connection);
  }

  /** A socket accepted before its server was attached shows up with its first request. */
  function adopt(socket: Socket, server: AttachableServer): Connection {
    const parent = (socket as unknown as { _parent?: unknown })._parent;
    const raw = server instanceof TlsServer && parent instanceof Socket ? parent : socket;
    return connect(raw, socket, server);
  }

  function start(response: ServerResponse, connection: Connection): void {
    connection.active++;
    inflight.set(response, now());
    response.on('close', onResponseClose);
    if (closing) markClose(response);
  }

  function onResponseClose(this: ServerResponse): void {
    if (!inflight.delete(this)) return;
    if (closing) completed++;
    const connection = (this.req.socket as Tagged<Socket> | null)?.[kConnection];
    if (connection === undefined || connection.owner !== owner) return;
    connection.active--;
    connection.idleSince = now();
    connection.bytesSeen = connection.raw.bytesRead;
    if (draining && connection.active === 0) review(connection);
  }

  /** While draining: close the connection once it has been quiet for `idleGrace`, or look again then. */
  function review(connection: Connection): void {
    clearTimeout(connection.timer);
    connection.timer = undefined;
    if (connection.active > 0 || connection.raw.destroyed) return;
    if (connection.upgrade !== undefined || connection.session !== undefined) return;
    if (connection.http === undefined && unlinked.has(connection.server)) return;
    const time = now();
    const bytes = connection.raw.bytesRead;
    if (bytes !== connection.bytesSeen) {
      connection.bytesSeen = bytes;
      connection.idleSince = time;
    }
    const wait = connection.idleSince + idleGrace - time;
    if (wait <= 0) {
      destroy(connection);
    } else {
      connection.timer = setTimeout(review, Math.ceil(wait), connection).unref();
    }
  }

  function destroy(connection: Connection): void {
    clearTimeout(connection.timer);
    connection.timer = undefined;
    if (connection.http !== undefined && connection.http !== connection.raw) connection.http.destroy();
    connection.raw.destroy();
  }

  function closeListener(server: AttachableServer): void {
    // Node >= 19's http close() also destroys every idle keep-alive socket at that instant, which
    // resets a client whose next request is already on the wire (the same-tick race). Suppress that
    // one call; review() closes idle sockets once they have been quiet for idleGrace instead.
    const instance = server as AttachableServer & { closeIdleConnections: () => void };
    const own = Object.getOwnPropertyDescriptor(instance, 'closeIdleConnections');
    instance.closeIdleConnections = noop;
    try {
      server.close(noop);
    } finally {
      if (own === undefined) delete (instance as Partial<typeof instance>).closeIdleConnections;
      else Object.defineProperty(instance, 'closeIdleConnections', own);
    }
  }

  /**
   * Node then writes `Connection: close` and ends the socket after the response. No header is set:
   * a framework that clears headers on its error path (Koa) would remove it, and once Node has seen
   * the Connection header removed it writes none at all.
   */
  function markClose(response: ServerResponse): void {
    if (response.headersSent || response.req.httpVersionMajor >= 2) return;
    response.shouldKeepAlive = false;
  }

  function ensureSubscribed(): void {
    if (subscribed) return;
    subscribe(REQUEST_START, onRequestStart);
    subscribed = true;
  }

  return {
    attach(server) {
      if (servers.has(server)) return;
      const tagged = server as Tagged<AttachableServer>;
      if (tagged[kOwner] !== undefined && tagged[kOwner] !== owner) {
        throw createError(
          Error,
          'LAMEDUCK_ALREADY_ATTACHED',
          'lameduck: this server is already attached to another lameduck manager; share one manager instead',
        );
      }
      tagged[kOwner] = owner;
      servers.set(server, { late: server.listening, closed: false });
      // First: an HTTP/2 server creates its session in its own connection listener.
      server.prependListener('connection', onConnection);
      if (server instanceof TlsServer) server.prependListener('secureConnection', onSecureConnection);
      server.on('close', onServerClose);
      server.on('session', onSession);
      server.on('stream', onStream);
      server.on('newListener', onNewListener);
      if (server.listenerCount('upgrade') > 0) server.prependListener('upgrade', onUpgrade);
      ensureSubscribed();
      if (draining) closeListener(server);
    },

    detach(server) {
      if (!servers.delete(server)) return;
      delete (server as Tagged<AttachableServer>)[kOwner];
      server.off('connection', onConnection);
      server.off('secureConnection', onSecureConnection);
      server.off('close', onServerClose);
      server.off('session', onSession);
      server.off('stream', onStream);
      server.off('newListener', onNewListener);
      server.off('upgrade', onUpgrade);
      for (const connection of connections) {
        if (connection.server !== server) continue;
        clearTimeout(connection.timer);
        connections.delete(connection);
        if (connection.upgrade !== undefined) upgraded--;
        connection.raw.off('close', onSocketClose);
        delete (connection.raw as Tagged<Socket>)[kConnection];
        if (connection.http !== undefined) delete (connection.http as Tagged<Socket>)[kConnection];
      }
      settleDrain();
    },

    track(req, res) {
      // HTTP/2 requests are tracked as streams.
      if (inflight.has(res) || req.httpVersionMajor >= 2) return;
      const socket = req.socket as Tagged<Socket> | null;
      if (socket === null) return;
      let connection = socket[kConnection];
      if (connection === undefined || connection.owner !== owner) {
        const server = (socket as unknown as { server?: unknown }).server;
        if (server === undefined || server === null || typeof (server as HttpServer).close !== 'function') return;
        const attachable = server as AttachableServer;
        if (!servers.has(attachable)) this.attach(attachable);
        connection = adopt(socket, attachable);
      }
      start(res, connection);
    },

    servers: () => [...servers.keys()],
    upgradedCount: () => upgraded,
    inflightCount: () => inflight.size + streams.size,
    connectionCount: () => connections.size,
    inflight() {
      const time = now();
      const requests = [...inflight].map(([response, started]) =>
        toInflight(response.req.method ?? 'GET', response.req.url ?? '', started, time),
      );
      const h2 = [...streams.values()].map(({ method, url, started }) => toInflight(method, url, started, time));
      return [...requests, ...h2];
    },
    completedWhileClosing: () => completed,

    markClosing() {
      closing = true;
      for (const response of inflight.keys()) markClose(response);
    },

    drain() {
      draining = true;
      const drained = new Promise<void>((resolve) => {
        resolveDrained = resolve;
      });
      for (const server of servers.keys()) closeListener(server);
      // GOAWAY: the client opens no new stream here; the streams in flight finish.
      for (const session of sessions) session.close();
      for (const connection of connections) review(connection);
      const late = [...servers].filter(([, entry]) => entry.late).map(([server]) => server);
      if (late.length > 0) {
        // Sockets accepted before a late attach are unknown to us: let Node close the idle ones.
        lateSweep = setTimeout(() => {
          for (const server of late) if ('closeIdleConnections' in server) server.closeIdleConnections();
        }, idleGrace).unref();
      }
      settleDrain();
      return drained;
    },

    force() {
      const stuck = this.inflight();
      const time = now();
      const upgrades = [...connections]
        .filter((connection) => connection.upgrade !== undefined && !connection.raw.destroyed)
        .map(({ upgrade }) => toInflight(upgrade!.method, upgrade!.url, upgrade!.started, time));
      for (const session of sessions) session.destroy();
      let destroyed = 0;
      for (const connection of connections) {
        if (connection.raw.destroyed) continue;
        destroy(connection);
        destroyed++;
      }
      // Sockets accepted before a late attach: Node knows them even if we do not.
      for (const server of servers.keys()) {
        if ('closeAllConnections' in server) server.closeAllConnections();
      }
      return { stuck, upgrades, destroyed };
    },

    dispose() {
      if (subscribed) unsubscribe(REQUEST_START, onRequestStart);
      subscribed = false;
      clearTimeout(lateSweep);
      for (const connection of connections) clearTimeout(connection.timer);
    },
  };
}
