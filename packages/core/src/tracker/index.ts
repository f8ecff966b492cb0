/** The tracker a manager drives: attaches servers and wires sockets, idle closing, HTTP/2, upgrades and requests. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Server as TlsServer } from 'node:tls';
import type { Clock } from '../deadline.js';
import { createError } from '../errors.js';
import type { AttachableServer, InflightRequest, PlainResponse } from '../types.js';
import { closeSessions, createHttp2Listeners, destroySessions } from './http2.js';
import { closeListener, closeListeners, startIdleClosing } from './idle.js';
import { createRequests, inflightRequests, markClosing } from './requests.js';
import { createSockets, destroyAll } from './sockets.js';
import { createTrackerState, kOwner, type Tagged } from './state.js';
import { createUpgradeListeners, openUpgrades } from './upgrades.js';

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
  now: Clock;
}

/** Creates the tracker a manager drives. */
export function createTracker({ idleGrace, refuseUpgrade, now }: TrackerSettings): Tracker {
  const state = createTrackerState(idleGrace, now);
  const sockets = createSockets(state);
  const http2 = createHttp2Listeners(state);
  const upgrades = createUpgradeListeners(state, refuseUpgrade);
  const requests = createRequests(state, sockets, (server) => tracker.attach(server));
  let resolveDrained: (() => void) | undefined;

  function onServerClose(this: AttachableServer): void {
    const entry = state.servers.get(this);
    if (entry === undefined) return;
    entry.closed = true;
    settleDrain();
  }

  function settleDrain(): void {
    if (resolveDrained === undefined) return;
    for (const entry of state.servers.values()) if (!entry.closed) return;
    resolveDrained();
    resolveDrained = undefined;
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
      state.servers.set(server, { late: server.listening, closed: false });
      // First: an HTTP/2 server creates its session in its own connection listener.
      server.prependListener('connection', sockets.onConnection);
      if (server instanceof TlsServer) server.prependListener('secureConnection', sockets.onSecureConnection);
      server.on('close', onServerClose);
      server.on('session', http2.onSession);
      server.on('stream', http2.onStream);
      server.on('newListener', upgrades.onNewListener);
      if (server.listenerCount('upgrade') > 0) server.prependListener('upgrade', upgrades.onUpgrade);
      requests.subscribe();
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
      sockets.forget(server);
      settleDrain();
    },
    track: requests.track,

    servers: () => [...state.servers.keys()],
    upgradedCount: () => state.upgraded,
    inflightCount: () => state.inflight.size + state.streams.size,
    connectionCount: () => state.connections.size,
    inflight: () => inflightRequests(state),
    completedWhileClosing: () => state.completed,
    markClosing: () => markClosing(state),

    drain() {
      state.draining = true;
      const drained = new Promise<void>((resolve) => {
        resolveDrained = resolve;
      });
      closeListeners(state);
      closeSessions(state);
      startIdleClosing(state);
      settleDrain();
      return drained;
    },
    force() {
      const stuck = inflightRequests(state);
      const upgraded = openUpgrades(state);
      destroySessions(state);
      return { stuck, upgrades: upgraded, destroyed: destroyAll(state) };
    },
    dispose() {
      requests.unsubscribe();
      clearTimeout(state.lateSweep);
      for (const connection of state.connections) clearTimeout(connection.timer);
    },
  };
  return tracker;
}
