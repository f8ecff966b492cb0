/** Node's private per-socket HTTP state, the only source for what was read before the shutdown: every read guarded, in this one file. */
import { IncomingMessage, ServerResponse, type Server as HttpServer } from 'node:http';
import type { Http2Session, Http2Stream } from 'node:http2';
import { Socket } from 'node:net';

/*
 * lameduck does nothing per request while serving. When shutdown starts it learns what is in flight
 * from the state Node keeps per socket (lib/_http_server.js, the same on Node 22, 24 and 26):
 * https://github.com/nodejs/node/blob/v22.23.5/lib/_http_server.js
 * - `socket._httpMessage`: the response written on the socket now (`assignSocket()`); responses to
 *   pipelined requests wait in a private queue and take its place, in order, as each finishes.
 * - `socket.parser.incoming`: the last request parsed on the socket (`parserOnHeadersComplete`).
 * - `server[kConnections]` (`Symbol('http.server.connections')`): every HTTP/1 socket of a listening
 *   server, the list behind `closeIdleConnections()`; lameduck adopts the sockets of a late attach.
 * - `socket[kTimeout]._idleStart`: when the keep-alive timer was last refreshed, that is, the socket's
 *   last read or write after its last response (lib/net.js `_unrefTimer`).
 * - `session[kState].streams` (lib/internal/http2/core.js): the HTTP/2 streams open on a session, and
 *   `stream[kRequest]`, the compatibility API's request (method, path) of each.
 * - `tlsSocket._parent`: the raw TCP socket under a TLS socket (lib/_tls_wrap.js).
 * - `socket._handle.reading` / `readStart()`: whether the socket reads from the kernel. While Node's
 *   HTTP parser consumes a socket it stops and starts its reads itself (`onSocketPause`/`onSocketResume`),
 *   and a socket it stopped stays stopped once the parser lets go of it (a lingering close, linger.ts).
 * - `server._connections` and `socket._server` (lib/net.js): a server counts its open sockets and emits
 *   `close` once the count is 0 and it has stopped listening; each socket decrements it when destroyed.
 * - `ServerResponse.prototype._storeHeader` (lib/_http_outgoing.js): reads `shouldKeepAlive` when the
 *   head is written. A response queued behind another cannot be reached before then, so its request is
 *   marked and the head is closed there.
 * Should any of these change shape, each function below answers "unknown" and its caller falls back
 * (see each); test/internals.test.ts checks each read by name on every Node major CI runs. On every
 * runtime, `missingReads()` checks them on the first request (runtime.ts), and where any is missing the
 * tracker takes the public-API path (follow.ts), as `globalThis[Symbol.for('lameduck.withoutNodeInternals')]
 * = true` forces it to.
 */

const kWithout = Symbol.for('lameduck.withoutNodeInternals');
// Symbol.for: a second copy of lameduck (ESM and CJS builds both loaded) must share the hook.
const kCloseAfter = Symbol.for('lameduck.closeAfterResponse');
const kHook = Symbol.for('lameduck.storeHeaderHook');

function usable(): boolean {
  return (globalThis as { [kWithout]?: unknown })[kWithout] !== true;
}

/** The public-API path is forced (`globalThis[Symbol.for('lameduck.withoutNodeInternals')] = true`). */
export function internalsForbidden(): boolean {
  return !usable();
}

/**
 * Which of the reads above find nothing usable on this runtime, checked on a real request as its server
 * hands it over (the first one on its socket after `attach()`): the names of those missing, `[]` when
 * every one is there. HTTP/2's reads are not checked here (an HTTP/2 server has no HTTP/1 request).
 */
export function missingReads(req: IncomingMessage, res: ServerResponse, server: object): string[] {
  const socket = req.socket as Socket & Record<string, unknown>;
  const missing: string[] = [];
  const known = socketRequests(socket);
  if (known?.response !== res) missing.push('socket._httpMessage');
  if (known?.last !== req) missing.push('socket.parser.incoming');
  const listed = serverSockets(server as HttpServer);
  const raw = tlsParent(socket) ?? socket;
  if (listed === undefined || !listed.includes(socket)) missing.push("server[Symbol('http.server.connections')]");
  if ((socket as { encrypted?: unknown }).encrypted === true && tlsParent(socket) === undefined) {
    missing.push('tlsSocket._parent');
  }
  if (symbolNamed(raw, 'timeout') === undefined || timersNow() === undefined)
    missing.push('socket[kTimeout]._idleStart');
  const handle = (raw as unknown as { _handle?: { readStart?: unknown } | null })._handle;
  if (typeof handle?.readStart !== 'function') missing.push('socket._handle.readStart');
  const tagged = raw as unknown as { _server?: unknown };
  if (tagged._server !== server || typeof (server as { _connections?: unknown })._connections !== 'number') {
    missing.push('server._connections');
  }
  if (typeof (ServerResponse.prototype as unknown as HookHolder)._storeHeader !== 'function') {
    missing.push('ServerResponse.prototype._storeHeader');
  }
  return missing;
}

function symbolNamed(target: object, description: string): symbol | undefined {
  return Object.getOwnPropertySymbols(target).find((symbol) => symbol.description === description);
}

/** What Node says is in flight on an HTTP/1 socket. */
export interface SocketRequests {
  /** The response being written now; `undefined` when none. */
  response: ServerResponse | undefined;
  /** The last request parsed on the socket, if Node still holds it (its response may be done). */
  last: IncomingMessage | undefined;
}

const NOTHING: SocketRequests = Object.freeze({ response: undefined, last: undefined });

/** What Node says is in flight on `socket`, or `undefined` when Node's state cannot be read. */
export function socketRequests(socket: Socket): SocketRequests | undefined {
  if (!usable() || !('parser' in socket)) return undefined;
  const { _httpMessage: message, parser } = socket as Socket & { _httpMessage?: unknown; parser: unknown };
  if (message !== undefined && message !== null && !(message instanceof ServerResponse)) return undefined;
  const incoming = (parser as { incoming?: unknown } | null)?.incoming;
  if (incoming !== undefined && incoming !== null && !(incoming instanceof IncomingMessage)) return undefined;
  // Idle sockets, the common case at a drain's start with thousands of them: nothing allocated.
  if ((message === undefined || message === null) && (incoming === undefined || incoming === null)) return NOTHING;
  return { response: message ?? undefined, last: incoming ?? undefined };
}

/** The request whose response is being written on `socket` now, if Node says. */
export function currentRequest(socket: Socket): IncomingMessage | undefined {
  return socketRequests(socket)?.response?.req;
}

/**
 * Makes `socket` read from the kernel again, as Node's `onSocketResume` does, once its HTTP parser has
 * stopped consuming it: Node does not restart reads it stopped for the parser. Returns false when the
 * handle cannot be read (the caller's timers still bound what it waits for).
 */
export function startReading(socket: Socket): boolean {
  if (!usable()) return false;
  const handle = (socket as unknown as { _handle?: { reading?: unknown; readStart?: unknown } | null })._handle;
  if (handle === undefined || handle === null || typeof handle.readStart !== 'function') return false;
  if (handle.reading !== true) {
    handle.reading = true;
    (handle.readStart as () => void).call(handle);
  }
  return true;
}

/**
 * Stops `server` counting `socket` (open, not destroyed) among the connections its `close` waits for:
 * the socket stays open, and is closed later without touching the server's count. Returns false when
 * Node's state cannot be read; the server then closes once the socket has.
 */
export function releaseFromServer(socket: Socket, server: object): boolean {
  if (!usable()) return false;
  const tagged = socket as unknown as { _server?: unknown };
  const counted = server as { _connections?: unknown };
  if (tagged._server !== server || typeof counted._connections !== 'number' || counted._connections <= 0) return false;
  tagged._server = null;
  counted._connections--;
  return true;
}

/**
 * The raw TCP socket under a TLS socket. Node links them only through the private `_parent`; there is
 * no public link, and a stalled handshake is visible only on the raw socket. `undefined` when unreadable.
 */
export function tlsParent(socket: Socket): Socket | undefined {
  if (!usable()) return undefined;
  const parent = (socket as unknown as { _parent?: unknown })._parent;
  return parent instanceof Socket ? parent : undefined;
}

/** The HTTP/1 sockets Node knows on a listening `server`, or `undefined` when they cannot be read. */
export function serverSockets(server: HttpServer): Socket[] | undefined {
  if (!usable()) return undefined;
  const key = symbolNamed(server, 'http.server.connections');
  const list = key === undefined ? undefined : (server as unknown as Record<symbol, unknown>)[key];
  if (typeof (list as { all?: unknown } | undefined)?.all !== 'function') return undefined;
  const parsers = (list as { all(): unknown[] }).all();
  const sockets: Socket[] = [];
  for (const parser of parsers) {
    const socket = (parser as { socket?: Socket } | null)?.socket;
    if (socket !== undefined && socket !== null) sockets.push(socket);
  }
  return sockets;
}

/** The HTTP/2 streams open on `session` (lib/internal/http2/core.js `session[kState].streams`), or `undefined`. */
export function sessionStreams(session: Http2Session): Http2Stream[] | undefined {
  if (!usable()) return undefined;
  const key = symbolNamed(session, 'state');
  const streams =
    key === undefined ? undefined : (session as unknown as Record<symbol, { streams?: unknown }>)[key]?.streams;
  // Node's SafeMap is a Map from another prototype chain: not `instanceof Map`, but Map's methods work.
  try {
    return [...Map.prototype.values.call(streams as Map<unknown, Http2Stream>)];
  } catch {
    return undefined;
  }
}

/** The method and path of a stream that started before the shutdown, as its compatibility request holds them. */
export function streamRequest(stream: Http2Stream): { method: string; url: string } | undefined {
  if (!usable()) return undefined;
  const key = symbolNamed(stream, 'request');
  const request = key === undefined ? undefined : (stream as unknown as Record<symbol, unknown>)[key];
  const { method, url } = (request ?? {}) as { method?: unknown; url?: unknown };
  return typeof method === 'string' && typeof url === 'string' ? { method, url } : undefined;
}

let timeoutKey: symbol | undefined;

/**
 * When `socket` last read or wrote, on the timers' clock (see `timersNow()`, which answers `undefined`
 * when Node's state is not to be read), as its keep-alive timer tells; `undefined` when there is no
 * such timer (no response finished on it yet, keepAliveTimeout 0).
 */
export function lastActive(socket: Socket): number | undefined {
  // No usable() here: called for every socket at the drain's start, after timersNow() checked it.
  timeoutKey ??= symbolNamed(socket, 'timeout');
  if (timeoutKey === undefined) return undefined;
  const timer = (socket as unknown as Record<symbol, { _idleStart?: unknown; _idleTimeout?: unknown } | null>)[
    timeoutKey
  ];
  if (timer === undefined || timer === null) return undefined;
  const start = timer._idleStart;
  const timeout = timer._idleTimeout;
  // A cleared timer (_idleTimeout -1) is not refreshed any more: it says nothing.
  return typeof start === 'number' && typeof timeout === 'number' && timeout > 0 ? start : undefined;
}

/** Now, on the timers' clock: a new timer's start. */
export function timersNow(): number | undefined {
  if (!usable()) return undefined;
  const probe = setTimeout(noop, 1);
  clearTimeout(probe);
  const now = (probe as unknown as { _idleStart?: unknown })._idleStart;
  return typeof now === 'number' ? now : undefined;
}

function noop(): void {}

type StoreHeader = (this: ServerResponse, ...args: unknown[]) => unknown;
interface HookHolder {
  [kHook]?: { original: StoreHeader; users: number };
  _storeHeader?: StoreHeader;
}

/**
 * The response to `req` (queued, not reachable yet) closes its connection, as long as its head has not
 * been written. Returns false when that cannot be arranged; the connection then closes once idle.
 */
export function closeAfterResponseTo(req: IncomingMessage): boolean {
  if (!usable()) return false;
  const proto = ServerResponse.prototype as unknown as HookHolder;
  const hook = proto[kHook];
  if (hook === undefined) {
    const original = proto._storeHeader;
    if (typeof original !== 'function') return false;
    proto[kHook] = { original, users: 1 };
    proto._storeHeader = function storeHeader(this: ServerResponse, ...args: unknown[]): unknown {
      if ((this.req as { [kCloseAfter]?: boolean } | undefined)?.[kCloseAfter] === true) this.shouldKeepAlive = false;
      return original.apply(this, args);
    };
  } else {
    hook.users++;
  }
  (req as { [kCloseAfter]?: boolean })[kCloseAfter] = true;
  return true;
}

/** Undoes `closeAfterResponseTo(req)`; the last user removes the hook. */
export function keepAfterResponseTo(req: IncomingMessage): void {
  const marked = req as { [kCloseAfter]?: boolean };
  if (marked[kCloseAfter] !== true) return;
  delete marked[kCloseAfter];
  const proto = ServerResponse.prototype as unknown as HookHolder;
  const hook = proto[kHook];
  if (hook === undefined || --hook.users > 0) return;
  delete proto[kHook];
  delete proto._storeHeader;
  // Someone else's own property was replaced by ours: put theirs back.
  if (proto._storeHeader !== hook.original) proto._storeHeader = hook.original;
}
