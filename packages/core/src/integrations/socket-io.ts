/** `drainSocketIo()`: moves Socket.IO clients off a draining server, spread out, each with a "transport close" so it reconnects elsewhere. */
import { invalidOption } from '../errors.js';
import type { Lameduck } from '../lameduck.js';

/** What `drainSocketIo()` needs of an engine.io socket (`io.engine`'s `connection` event hands them out). */
export interface EngineSocketLike {
  readonly transport: {
    /** `polling`, `websocket` or `webtransport`. */
    readonly name: string;
    /** Polling: true while the client's long-poll request is pending, so that a packet can be sent now. */
    readonly writable?: boolean;
    /** Polling: emitted when the client's next long-poll request arrives. */
    once(event: 'ready', listener: () => void): unknown;
    off(event: 'ready', listener: () => void): unknown;
  };
  /** True while a polling client is upgrading to WebSocket. */
  readonly upgrading?: boolean;
  /**
   * Closes the transport: a WebSocket at once; a long poll by answering the pending poll with a "close"
   * packet (socket.io-client reads it as "transport close"). With `discard`, a long poll with no request
   * pending is dropped at once; otherwise engine.io waits up to 30 s for the next one, on a timer of its own.
   */
  close(discard?: boolean): void;
  once(event: 'close', listener: () => void): unknown;
}

/** What `drainSocketIo()` needs of a Socket.IO 4 server: its engine. No import of socket.io. */
export interface SocketIoServerLike {
  readonly engine: {
    on(event: 'connection', listener: (socket: EngineSocketLike) => void): unknown;
    off(event: 'connection', listener: (socket: EngineSocketLike) => void): unknown;
    /** How many clients the engine has, those connected before `drainSocketIo()` included. */
    readonly clientsCount: number;
    /** Closes every client's transport: the sweep after the spread, for clients connected before `drainSocketIo()`. */
    close(): unknown;
  };
}

/** Options of `drainSocketIo()`. */
export interface SocketIoDrainOptions {
  /**
   * Clients moved per second, at most: how many reconnections a second the neighbours must absorb.
   * Polling clients are not counted: they are all closed when the drain starts (their long-poll
   * requests would hold the drain, and their next poll cannot reach a closed listener anyway).
   * @default 1000
   * @example drainSocketIo(lameduck, io, { rate: 200 })
   */
  rate?: number;
  /**
   * The longest the move may last, in ms from the drain's start: past it, every client left is closed at
   * once, whatever `rate` says. `"auto"` is half the time the drain has before `deadlineSignal` (`timeout
   * - cleanupReserve - abortBefore`, less the lame-duck phase), so the sockets still get time to close.
   * Clients left when `deadlineSignal` aborts are closed then in any case.
   * @default "auto"
   * @example drainSocketIo(lameduck, io, { window: 5_000 })
   */
  window?: number | 'auto';
}

/** The defaults of `drainSocketIo()`'s options, as documented. */
export const SOCKET_IO_DEFAULTS = Object.freeze({
  rate: 1_000,
  window: 'auto' as number | 'auto',
});

/** How often the move closes its next batch; the batch is sized so that `rate` holds on average. */
const TICK = 25;

function resolve(options: SocketIoDrainOptions | undefined): { rate: number; window: number | 'auto' } {
  const rate = options?.rate ?? SOCKET_IO_DEFAULTS.rate;
  const window = options?.window ?? SOCKET_IO_DEFAULTS.window;
  if (typeof rate !== 'number' || !Number.isFinite(rate) || rate <= 0) {
    throw invalidOption('rate', 'a number of clients per second above 0', rate);
  }
  if (window !== 'auto' && (typeof window !== 'number' || !Number.isInteger(window) || window < 0)) {
    throw invalidOption('window', '"auto" or a whole number of milliseconds from 0', window);
  }
  return { rate, window };
}

/**
 * Moves Socket.IO clients off this server when the drain starts: each client's transport is closed
 * (its `disconnect` reason is "transport close"), so socket.io-client reconnects on its own, through the
 * balancer, to a live instance. (`io.disconnectSockets(true)` would end with "io server disconnect",
 * after which clients do not reconnect by themselves.) Polling clients go at once; WebSocket clients at
 * `rate` a second, within `window`. Call it before the server listens, so that every client is seen.
 * Returns a remover.
 * @example
 * const io = new Server(server);
 * drainSocketIo(lameduck, io);
 */
export function drainSocketIo(lameduck: Lameduck, io: SocketIoServerLike, options?: SocketIoDrainOptions): () => void {
  const { rate, window } = resolve(options);
  const open = new Set<EngineSocketLike>();
  // Polling clients waiting for their next poll, to be answered "close": dropped at the latest by `stop`.
  const waiting = new Map<EngineSocketLike, () => void>();

  /** Closes a polling client with a "close" packet on its pending poll, or its next (within idleGrace). */
  function closePolling(client: EngineSocketLike): void {
    if (client.transport.writable === true) return client.close();
    const answer = (): void => {
      clearTimeout(timer);
      client.transport.off('ready', answer);
      waiting.delete(client);
      client.close();
    };
    // Not back within idleGrace: its connection is closed as idle by now, and no poll will come.
    const drop = (): void => {
      client.transport.off('ready', answer);
      waiting.delete(client);
      client.close(true);
    };
    const timer = setTimeout(drop, lameduck.options.idleGrace).unref();
    client.transport.once('ready', answer);
    waiting.set(client, () => {
      clearTimeout(timer);
      drop();
    });
  }
  const isPolling = (client: EngineSocketLike): boolean =>
    client.transport.name === 'polling' || client.upgrading === true;

  function onConnection(socket: EngineSocketLike): void {
    // A handshake that came over a connection opened before the listener closed: send it on its way.
    if (lameduck.drainSignal.aborted) return closePolling(socket);
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  }
  io.engine.on('connection', onConnection);

  function windowNow(): number {
    if (window !== 'auto') return window;
    const { timeout, cleanupReserve, abortBefore } = lameduck.options;
    const left = timeout - cleanupReserve - abortBefore - lameduck.stats().durations.lameDuck;
    return Math.max(0, Math.floor(left / 2));
  }

  async function move(signal: AbortSignal): Promise<void> {
    const clients = [...open];
    for (const client of clients) if (isPolling(client)) closePolling(client);
    await spread(
      clients.filter((client) => !isPolling(client)),
      windowNow(),
      signal,
    );
    // Clients connected before drainSocketIo() was called are not in `open`: the engine closes them.
    // (Only then: its close() does not wait for a polling client's next request, and so answers none.)
    if (io.engine.clientsCount > open.size) io.engine.close();
  }

  /** Closes `queue` in order, at `rate` a second within `window` ms; the rest at once when `signal` aborts. */
  function spread(queue: EngineSocketLike[], windowMs: number, signal: AbortSignal): Promise<void> {
    const span = Math.min(windowMs, (queue.length / rate) * 1000);
    const started = performance.now();
    let next = 0;
    return new Promise<void>((done) => {
      let timer: NodeJS.Timeout | undefined;
      function closeUpTo(count: number): void {
        for (; next < Math.min(count, queue.length); next++) queue[next]!.close();
      }
      function finish(): void {
        clearTimeout(timer);
        signal.removeEventListener('abort', cutShort);
        closeUpTo(queue.length);
        done();
      }
      function cutShort(): void {
        for (const drop of [...waiting.values()]) drop();
        finish();
      }
      function step(): void {
        const elapsed = performance.now() - started;
        if (elapsed >= span) return finish();
        closeUpTo(Math.floor((queue.length * elapsed) / span));
        timer = setTimeout(step, Math.min(TICK, span - elapsed)).unref();
      }
      signal.addEventListener('abort', cutShort, { once: true });
      if (signal.aborted) return cutShort();
      step();
    });
  }

  const removeCloser = lameduck.addCloser(move, { name: 'socket.io' });
  return () => {
    io.engine.off('connection', onConnection);
    removeCloser();
  };
}
