/** Upgraded connections (WebSockets): tracked while open, refused with a 503 once the drain has started. */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { refuseOnSocket } from '../responses.js';
import type { AttachableServer, InflightRequest, PlainResponse } from '../types.js';
import { connectionOf, toInflight, type TrackerState } from './state.js';

function ignore(): void {}

/** The upgrade listeners of one tracker (stable functions, so that `detach()` can remove them). */
export interface UpgradeListeners {
  onUpgrade(this: AttachableServer, req: IncomingMessage, socket: Socket): void;
  /** Our upgrade listener goes first, but only once the application listens for upgrades itself. */
  onNewListener(this: AttachableServer, event: string | symbol, listener: unknown): void;
}

/** `refuse` returns the 503 for an upgrade that arrives after the listener closed. */
export function createUpgradeListeners(state: TrackerState, refuse: () => PlainResponse): UpgradeListeners {
  const listeners: UpgradeListeners = {
    onUpgrade(req, socket) {
      const connection = connectionOf(state, socket);
      if (connection === undefined) return;
      if (state.draining) {
        // The application's own upgrade listener still runs after this one; it finds the socket ending.
        // One that answers on it later (@hono/node-ws, for a path with no WebSocket route) writes after
        // the end: the 'error' that follows is ours to swallow, or it would crash the process.
        socket.on('error', ignore);
        refuseOnSocket(socket, refuse());
        return;
      }
      connection.upgrade = { method: req.method ?? 'GET', url: req.url ?? '', started: state.now() };
      state.upgraded++;
    },
    onNewListener(event, listener) {
      const { onUpgrade } = listeners;
      // 'newListener' comes before the listener is added, our own prepend included.
      if (event !== 'upgrade' || listener === onUpgrade || this.listeners('upgrade').includes(onUpgrade)) return;
      this.prependListener('upgrade', onUpgrade);
    },
  };
  return listeners;
}

/** The upgraded connections still open, as they are reported at the deadline. */
export function openUpgrades(state: TrackerState): InflightRequest[] {
  const time = state.now();
  const open: InflightRequest[] = [];
  for (const { upgrade, raw } of state.connections) {
    if (upgrade !== undefined && !raw.destroyed) open.push(toInflight(state, upgrade, time));
  }
  return open;
}
