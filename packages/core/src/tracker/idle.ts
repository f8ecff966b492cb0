/** Idle closing during a drain: listeners closed without Node's instant purge, sockets closed once quiet for `idleGrace`. */
import type { AttachableServer } from '../types.js';
import { destroyConnection } from './sockets.js';
import type { Connection, TrackerState } from './state.js';

const noop = (): void => {};

/** While draining: close the connection once it has been quiet for `idleGrace`, or look again then. */
export function review(state: TrackerState, connection: Connection): void {
  clearTimeout(connection.timer);
  connection.timer = undefined;
  if (connection.active > 0 || connection.raw.destroyed) return;
  if (connection.upgrade !== undefined || connection.session !== undefined) return;
  if (connection.http === undefined && state.unlinked.has(connection.server)) return;
  const time = state.now();
  const bytes = connection.raw.bytesRead;
  if (bytes !== connection.bytesSeen) {
    connection.bytesSeen = bytes;
    connection.idleSince = time;
  }
  const wait = connection.idleSince + state.idleGrace - time;
  if (wait <= 0) {
    destroyConnection(connection);
  } else {
    connection.timer = setTimeout(review, Math.ceil(wait), state, connection).unref();
  }
}

/** A response on `connection` has ended: it is idle from now, and reviewed if the drain has started. */
export function responseEnded(state: TrackerState, connection: Connection): void {
  connection.active--;
  connection.idleSince = state.now();
  connection.bytesSeen = connection.raw.bytesRead;
  if (state.draining && connection.active === 0) review(state, connection);
}

/** Stops `server` accepting connections, leaving its open sockets to `review()`. */
export function closeListener(server: AttachableServer): void {
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

/** Stops every attached server accepting connections. */
export function closeListeners(state: TrackerState): void {
  for (const server of state.servers.keys()) closeListener(server);
}

/** From the drain's start: reviews every connection, and sweeps the sockets a late attach missed. */
export function startIdleClosing(state: TrackerState): void {
  for (const connection of state.connections) review(state, connection);
  const late = [...state.servers].filter(([, entry]) => entry.late).map(([server]) => server);
  if (late.length > 0) {
    // Sockets accepted before a late attach are unknown to us: let Node close the idle ones.
    state.lateSweep = setTimeout(() => {
      for (const server of late) if ('closeIdleConnections' in server) server.closeIdleConnections();
    }, state.idleGrace).unref();
  }
}
