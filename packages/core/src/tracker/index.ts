/** The tracker a manager drives: attaches servers and wires sockets, idle closing, HTTP/2, upgrades and requests. */
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { Server as TlsServer } from 'node:tls';
import type { Clock } from '../deadline.js';
import { createError } from '../errors.js';
import type { AttachableServer, InflightRequest, PlainResponse } from '../types.js';
import { createFollow, followed } from './follow.js';
import { closeSessions, createHttp2Listeners, destroySessions, followStreams } from './http2.js';
import { batchIdleClosing, closeListener, closeListeners, restoreIdleClosing, startIdleClosing } from './idle.js';
import { internalsForbidden, serverSockets } from './internals.js';
import { createRequests, inflightCount, inflightRequests } from './requests.js';
import { countLost, createSockets, destroyAll } from './sockets.js';
import { connectionOf, createTrackerState, kConnection, kOwner, type ServerEntry, type Tagged } from './state.js';
import { createUpgradeListeners, openUpgrades } from './upgrades.js';

/** The internal tracker a manager drives; not part of the public API. */
export interface Tracker {
  attach(server: AttachableServer): void;
  detach(server: AttachableServer): void;
  /**
   * True when `req` arrived on a socket this tracker knows (and, on the public path, is followed).
   * Otherwise `track()` it (its server was attached late, or not at all yet).
   */
  knows(req: IncomingMessage): boolean;
  /** Adopts the socket of a request `knows()` did not, attaching its server if need be. */
  track(req: IncomingMessage, res?: ServerResponse): void;
  /** Connections handed over by an `upgrade` and still open. */
  readonly upgradedCount: () => number;
  readonly servers: () => AttachableServer[];
  readonly inflightCount: () => number;
  readonly connectionCount: () => number;
  readonly inflight: () => InflightRequest[];
  /**
   * Shutdown has started: learns what is in flight, lets the last response on each connection close
   * it (`Connection: close`), and follows requests until `dispose()`. `drainNext`: `drain()` follows in
   * this same turn, so the same pass over the sockets applies the idleGrace rule too.
   */
  markClosing(drainNext?: boolean): void;
  /** Closes the listeners and every socket once idle; resolves when every server has closed. */
  drain(): Promise<void>;
  /**
   * Destroys every socket left; returns what was still in flight (requests and HTTP/2 streams), the
   * upgraded connections still open, and how many sockets were destroyed.
   */
  force(): { stuck: InflightRequest[]; upgrades: InflightRequest[]; destroyed: number };
  /** Requests that completed after `markClosing()`. */
  readonly completedWhileClosing: () => number;
  /** Requests read whose response was never written (their connection closed first). */
  readonly lost: () => number;
  /** Stops following requests and clears every timer. */
  dispose(): void;
}

/** What the tracker needs from its manager. */
export interface TrackerSettings {
  /** How long a socket must be quiet before a drain closes it. */
  idleGrace: number;
  /** How many bytes beyond a request's declared body a lingering close reads. */
  discardLimit: number;
  /** Called for an upgrade refused because the listener had closed; returns the 503 to send. */
  refuseUpgrade(): PlainResponse;
  now: Clock;
  /**
   * This runtime lacks some of Node's private state or request channels (named in `missing`): requests
   * are followed through public events from now on. Called at most once, never when that path is forced.
   */
  onPublicPath?(missing: string[]): void;
  /** Node's private state is read: from now on a request on a socket tagged with `owner` is known by that alone. */
  onPrivatePath?(owner: object): void;
}

/** Creates the tracker a manager drives. */
export function createTracker(settings: TrackerSettings): Tracker {
  const { idleGrace, discardLimit, refuseUpgrade, now, onPublicPath, onPrivatePath } = settings;
  const state = createTrackerState(idleGrace, discardLimit, now);
  const owner = state.owner;
  const sockets = createSockets(state);
  const http2 = createHttp2Listeners(state);
  const upgrades = createUpgradeListeners(state, refuseUpgrade);
  const requests = createRequests(state, sockets, (server) => tracker.attach(server));
  const follow = createFollow(state, sockets, (missing) => {
    if (missing.length === 0) {
      for (const connection of state.connections) connection.unknown = false;
      onPrivatePath?.(owner);
    } else if (!internalsForbidden()) onPublicPath?.(missing);
  });
  let resolveDrained: (() => void) | undefined;
  state.settle = () => settleDrain();

  function onServerClose(this: AttachableServer): void {
    const entry = state.servers.get(this);
    if (entry === undefined) return;
    entry.closed = true;
    settleDrain();
  }

  /**
   * A server is done once closed, or once all that is left of it is idle connections being closed:
   * their closing needs nothing more from the drain, and an exiting process lets the kernel close
   * them, which is much faster than one destroy() at a time (10,000 idle sockets take hundreds of ms).
   * A connection whose state Node would not let us read is idle only once Node has closed it.
   */
  function done(server: AttachableServer, entry: ServerEntry): boolean {
    if (entry.closed) return true;
    if (entry.unadopted || server.listening) return false;
    // Every connection waits to be closed (how a drain of idle sockets ends): none to look at one by one.
    if (state.queuedCount === state.connections.size) return true;
    for (const connection of state.connections) {
      if (connection.server !== server || connection.raw.destroyed) continue;
      if (!connection.queued || connection.unknown) return false;
    }
    return true;
  }

  function settleDrain(): void {
    if (resolveDrained === undefined) return;
    for (const [server, entry] of state.servers) if (!done(server, entry)) return;
    // A server closes once its sockets are destroyed, which can be before their 'close' events.
    for (const connection of state.busy) if (connection.raw.destroyed) countLost(state, connection);
    resolveDrained();
    resolveDrained = undefined;
  }

  /** A server attached while listening: adopts the sockets Node lists for it. */
  function adoptExisting(server: AttachableServer): boolean {
    const existing = serverSockets(server as HttpServer);
    if (existing === undefined) return false;
    // On the public path their requests so far were not seen: Node says when they are idle.
    for (const socket of existing) sockets.adopt(socket, server).unknown = state.public;
    return true;
  }

  const tracker: Tracker = {
    attach(server) {
      if (state.servers.has(server)) return;
      const tagged = server as Tagged<AttachableServer>;
      if (tagged[kOwner] !== undefined && tagged[kOwner] !== state.owner) {
        throw createError(
          Error,
          'LAMEDUCK_ALREADY_ATTACHED',
          'lameduck: this server is already attached to another lameduck manager; share one manager instead',
        );
      }
      tagged[kOwner] = state.owner;
      const entry = { unadopted: false, closed: false };
      state.servers.set(server, entry);
      // First: an HTTP/2 server creates its session in its own connection listener.
      server.prependListener('connection', sockets.onConnection);
      if (server instanceof TlsServer) server.prependListener('secureConnection', sockets.onSecureConnection);
      server.on('close', onServerClose);
      server.on('session', http2.onSession);
      server.on('stream', http2.onStream);
      server.on('newListener', upgrades.onNewListener);
      if (server.listenerCount('upgrade') > 0) server.prependListener('upgrade', upgrades.onUpgrade);
      follow.attach(server);
      if (server.listening) entry.unadopted = !adoptExisting(server);
      if (state.draining) closeListener(server);
    },
    detach(server) {
      if (!state.servers.delete(server)) return;
      delete (server as Tagged<AttachableServer>)[kOwner];
      server.off('connection', sockets.onConnection);
      server.off('secureConnection', sockets.onSecureConnection);
      server.off('close', onServerClose);
      server.off('session', http2.onSession);
      server.off('stream', http2.onStream);
      server.off('newListener', upgrades.onNewListener);
      server.off('upgrade', upgrades.onUpgrade);
      follow.detach(server);
      sockets.forget(server);
      if (state.servers.size === 0) requests.stop();
      settleDrain();
    },
    knows(req) {
      const connection = (req.socket as Tagged<typeof req.socket> | null)?.[kConnection];
      if (connection === undefined || connection.owner !== owner) return false;
      // On the public path, also whether the request itself is followed (see Follow.adopted).
      return !state.public || followed(connection, req);
    },
    track(req, res) {
      requests.track(req);
      // On the public path: a request whose `request` event came before its server was attached.
      const connection = connectionOf(state, req.socket);
      if (connection !== undefined) follow.adopted(connection, req, res);
    },

    servers: () => [...state.servers.keys()],
    upgradedCount: () => state.upgraded,
    inflightCount: () => inflightCount(state),
    connectionCount: () => state.connections.size,
    inflight: () => inflightRequests(state),
    completedWhileClosing: () => state.completed,
    lost: () => state.lost,
    markClosing(drainNext = false) {
      requests.start(drainNext);
      followStreams(state);
    },

    drain() {
      state.draining = true;
      const drained = new Promise<void>((resolve) => {
        resolveDrained = resolve;
      });
      batchIdleClosing(state);
      closeListeners(state);
      closeSessions(state);
      startIdleClosing(state);
      settleDrain();
      return drained;
    },
    force() {
      state.forced = true;
      const stuck = inflightRequests(state);
      const upgraded = openUpgrades(state);
      destroySessions(state);
      return { stuck, upgrades: upgraded, destroyed: destroyAll(state) };
    },
    dispose() {
      requests.stop();
      follow.stop();
      restoreIdleClosing(state);
      clearTimeout(state.lateSweep);
      // The close batches run on: the drain may have ended with idle connections still being closed.
      for (const connection of state.connections) clearTimeout(connection.timer);
    },
  };
  return tracker;
}
