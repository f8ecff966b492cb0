/** Idle closing during a drain: listeners closed without Node's instant purge, sockets closed once quiet (the idleGrace rule), in batches. */
import type { AttachableServer } from '../types.js';
import { lastActive, releaseFromServer } from './internals.js';
import { destroyConnection, unqueue } from './sockets.js';
import type { Connection, TrackerState } from './state.js';

const noop = (): void => {};
/** Sockets destroyed per turn of the event loop, so that 10,000 idle ones do not stall it. */
const CLOSE_BATCH = 256;

/*
 * The idleGrace rule. While draining, a connection with no request in flight is closed once it has been
 * quiet (no byte received) for idleGrace, and at the latest 2 × idleGrace after it became idle or the
 * drain started, whichever is later, even if bytes keep arriving: a request whose headers have not
 * completed by then (a slowloris, a very slow client) is not waited for. A request whose headers do
 * complete is served (or gets the 503) as any other, and its connection closes after the response.
 * "Quiet" for a socket idle before the shutdown is read from Node's keep-alive timer (see internals.ts);
 * when that cannot be read it counts from the drain's start.
 */

/** While draining: closes the connection if the idleGrace rule says so, or looks again when it will. */
export function review(
  state: TrackerState,
  connection: Connection,
  time = state.now(),
  bytes = connection.raw.bytesRead,
): void {
  if (connection.timer !== undefined) clearTimeout(connection.timer);
  connection.timer = undefined;
  if (!closable(state, connection)) return;
  if (bytes !== connection.bytesSeen) {
    connection.bytesSeen = bytes;
    connection.idleSince = time;
  }
  const quietEnough = connection.idleSince + state.idleGrace;
  // Node's state unreadable: no cap, and Node decides what is idle (see closeSoon).
  const at = connection.unknown ? quietEnough : Math.min(quietEnough, connection.closeBy);
  if (at <= time) {
    if (!connection.queued) closeSoon(state, connection);
  } else connection.timer = setTimeout(review, Math.ceil(at - time), state, connection).unref();
}

/** Whether the idle rule applies to `connection` now: no request in flight, not upgraded, not HTTP/2. */
function closable(state: TrackerState, connection: Connection): boolean {
  if (connection.pending.length > 0 || connection.upgrade !== undefined || connection.session !== undefined) {
    return false;
  }
  // Last: the one read of the socket itself.
  if (connection.raw.destroyed) return false;
  return connection.http !== undefined || !state.unlinked.has(connection.server);
}

/** The last request in flight on `connection` was answered: it is idle from now. */
export function becameIdle(state: TrackerState, connection: Connection): void {
  const time = state.now();
  connection.idleSince = time;
  connection.bytesSeen = connection.raw.bytesRead;
  connection.closeBy = time + 2 * state.idleGrace;
  if (state.draining) review(state, connection);
}

/** Queues `connection` to be closed with the next batch. */
function closeSoon(state: TrackerState, connection: Connection): void {
  connection.queued = true;
  state.queuedCount++;
  state.closeQueue.push(connection);
  // Not unref()ed: an unref()ed immediate does not wake a loop waiting for I/O, and the batches then
  // crawl at the pace of other events. It lives only while connections wait to be closed.
  state.closeBatch ??= setImmediate(closeBatch, state);
}

/** Closes the next batch of queued connections that are still idle (a request may have arrived since). */
function closeBatch(state: TrackerState): void {
  const batch = state.closeQueue.splice(0, CLOSE_BATCH);
  const unknown = new Set<AttachableServer>();
  const time = state.now();
  for (const connection of batch) {
    unqueue(state, connection);
    if (!closable(state, connection)) continue;
    if (connection.raw.bytesRead !== connection.bytesSeen && (connection.unknown || time < connection.closeBy)) {
      review(state, connection);
      continue;
    }
    if (connection.unknown) unknown.add(connection.server);
    else destroyConnection(connection);
  }
  // Node knows which of these are between requests; lameduck could not tell. Those Node kept open have a
  // request in flight (or began one): asked again once quiet for another idleGrace, not on the next turn,
  // which would queue them again at once and count them as being closed.
  for (const server of unknown) closeIdleByNode(server);
  for (const connection of batch) {
    if (!connection.unknown || connection.raw.destroyed) continue;
    connection.idleSince = time;
    review(state, connection, time);
  }
  state.closeBatch = state.closeQueue.length > 0 ? setImmediate(closeBatch, state) : undefined;
  state.settle();
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

type IdleCloser = AttachableServer & { closeIdleConnections?: () => void };

/** Each server's own `closeIdleConnections` while `batchIdleClosing` has replaced it. */
const nodeCloseIdle = new WeakMap<AttachableServer, () => void>();

/** Node's own `closeIdleConnections()`: every socket it knows to be between requests, closed now. */
function closeIdleByNode(server: AttachableServer): void {
  const own = nodeCloseIdle.get(server) ?? (server as IdleCloser).closeIdleConnections;
  own?.call(server);
}

/**
 * While draining, `closeIdleConnections()` applies the idleGrace rule and closes in batches. Node's own
 * destroys every socket between requests at that instant, resetting a client whose next request is
 * already on the wire (the same-tick race closeListener avoids), and it is called again by any code that
 * closes the server during the drain: Node's server.close(), Fastify's close(), the application's own.
 * Those wait for the server's `close` event, which Node emits once every socket has closed: sockets
 * already waiting to be closed (idle, quiet for idleGrace) are let go of, so that the close completes
 * now while they are still closed in batches, or by the kernel as the process exits (10,000 idle
 * sockets take hundreds of ms to destroy from JavaScript). Sockets lameduck cannot read are still
 * Node's to judge.
 */
export function batchIdleClosing(state: TrackerState): void {
  for (const server of state.servers.keys()) {
    const instance = server as IdleCloser;
    const original = instance.closeIdleConnections;
    if (typeof original !== 'function') continue;
    const own = Object.getOwnPropertyDescriptor(instance, 'closeIdleConnections');
    nodeCloseIdle.set(server, original);
    instance.closeIdleConnections = function closeIdleConnections(): void {
      let unknown = false;
      for (const connection of state.connections) {
        if (connection.server !== server) continue;
        if (connection.unknown) unknown = true;
        else if (!connection.queued) review(state, connection);
        else if (!connection.raw.destroyed) releaseFromServer(connection.raw, server);
      }
      if (unknown) original.call(instance);
    };
    state.restores.push(() => {
      nodeCloseIdle.delete(server);
      if (own === undefined) delete instance.closeIdleConnections;
      else Object.defineProperty(instance, 'closeIdleConnections', own);
    });
  }
}

/** Puts back what `batchIdleClosing` replaced. */
export function restoreIdleClosing(state: TrackerState): void {
  for (const restore of state.restores.splice(0)) restore();
}

/**
 * Shutdown has started: when `connection` last showed activity, read in the same pass over the sockets
 * as what each has in flight (each socket read once; with 10,000 idle ones every pass delays the first
 * close). From Node's keep-alive timer, or (public path) when its last response finished if no byte
 * came since, or since it connected if it never sent a byte; else (part of a request on its way, say)
 * from now. `review()` sees the bytes that arrive after.
 */
export function noteActivity(connection: Connection, time: number, timers: number | undefined): void {
  const bytes = connection.raw.bytesRead;
  const active = connection.http === undefined || timers === undefined ? undefined : lastActive(connection.http);
  if (active !== undefined) connection.idleSince = time - Math.max(0, timers! - active);
  // On the public path: its last response finished then (becameIdle), and no byte has arrived since.
  else if (connection.idleSince > -Infinity && bytes === connection.bytesSeen) return;
  else if (bytes === 0) connection.idleSince = connection.connectedAt;
  else connection.idleSince = time;
  connection.bytesSeen = bytes;
}

/** The drain starts at `time`: the idleGrace rule for `connection` (see `noteActivity` for when it went quiet). */
export function reviewAtDrainStart(state: TrackerState, connection: Connection, time: number): void {
  connection.closeBy = time + 2 * state.idleGrace;
  // No turn of the event loop since the shutdown's pass (no lame-duck phase): no byte can have arrived.
  review(state, connection, time, state.bytesCurrent ? connection.bytesSeen : connection.raw.bytesRead);
}

/** From the drain's start: the idleGrace rule for every connection, unless the shutdown's pass applied it in this same turn. */
export function startIdleClosing(state: TrackerState): void {
  if (!state.reviewed) {
    const time = state.now();
    for (const connection of state.connections) reviewAtDrainStart(state, connection, time);
  }
  const late = [...state.servers].filter(([, entry]) => entry.unadopted).map(([server]) => server);
  if (late.length > 0) {
    // Sockets accepted before a late attach, which Node could not list: let Node close the idle ones.
    state.lateSweep = setTimeout(() => {
      for (const server of late) closeIdleByNode(server);
    }, state.idleGrace).unref();
  }
}
