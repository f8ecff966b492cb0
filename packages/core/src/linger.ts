/** The lingering close of a connection closed during the drain while a request's body is still arriving: half-close, read and discard (bounded), then close. */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { startReading } from './tracker/internals.js';

/** The drain's settings that bound a lingering close. */
export interface LingerSettings {
  /** How long a socket must be quiet before a drain closes it, in ms. */
  idleGrace: number;
  /** How many bytes beyond the declared body are read and discarded. */
  discardLimit: number;
}

/** When a lingering close stops reading and closes the connection, whichever comes first. */
export interface LingerBounds {
  /** No byte has arrived for this long: the client has stopped sending (it is reading, or gone). */
  quiet: number;
  /** This long after the response was written. */
  total: number;
  /** This many bytes have been read since. */
  bytes: number;
}

/**
 * The bounds of `req`'s lingering close, from the drain's own rules rather than options of their own:
 * the idleGrace rule for a socket with no request in flight (closed once quiet for `idleGrace`, at the
 * latest `2 × idleGrace` later, even if bytes keep arriving), and at most `discardLimit` bytes beyond
 * the body the request declared (a chunked body declares none: time alone bounds it). The drain's
 * deadline destroys whatever is still open, lingering or not.
 */
export function lingerBounds(req: IncomingMessage, { idleGrace, discardLimit }: LingerSettings): LingerBounds {
  const declared = req.headers['transfer-encoding'] === undefined ? Number(req.headers['content-length'] ?? 0) : NaN;
  return {
    quiet: idleGrace,
    total: 2 * idleGrace,
    bytes: Number.isFinite(declared) ? declared + discardLimit : Infinity,
  };
}

/** Whether `req` has a body at all (a length, or chunks). */
function hasBody(req: IncomingMessage): boolean {
  const { headers } = req;
  return headers['transfer-encoding'] !== undefined || Number(headers['content-length'] ?? 0) > 0;
}

type Lingering = Socket & { destroySoon?: () => void };

/**
 * Called during the drain for every request with a body, before its response is written: should that
 * response close the connection (lameduck's `Connection: close`, a 503, the client's or the
 * framework's own) while the body is still arriving, the connection closes lingering instead.
 *
 * Once such a response is written, Node closes its connection with `destroySoon()`
 * (lib/_http_server.js `resOnFinish`, https://github.com/nodejs/node/blob/v22.23.5/lib/_http_server.js):
 * with body bytes still unread, the kernel then answers the client's next bytes with a reset, and a
 * client that writes its whole body before reading loses the response from its receive buffer. So for
 * this socket, lameduck half-closes instead (the response, then FIN), reads and discards what still
 * arrives, and closes within `lingerBounds()`, as nginx's lingering close does. A response that keeps
 * the connection, or a body read whole, closes as before; so does everything should Node stop calling
 * `destroySoon()`. The last request on a socket sets how it closes.
 */
export function lingerIfBodyArriving(req: IncomingMessage, settings: LingerSettings): void {
  const socket = req.socket as Lingering | null;
  if (!hasBody(req) || socket === null || socket.destroyed || typeof socket.destroySoon !== 'function') return;
  socket.destroySoon = function lingeringClose(): void {
    if (req.complete) {
      Reflect.deleteProperty(socket, 'destroySoon');
      socket.destroySoon?.();
      return;
    }
    // Asked again (@hono/node-server drains an unread body for 500 ms, then calls it): the close under
    // way already ends within its bounds, and a second one would reset the client it is waiting for.
    socket.destroySoon = lingering;
    linger(socket, lingerBounds(req, settings));
  };
}

function lingering(): void {}

function linger(socket: Socket, bounds: LingerBounds): void {
  let read = 0;
  const close = (): void => {
    clearTimeout(quiet);
    clearTimeout(total);
    socket.destroy();
  };
  const quiet = setTimeout(close, bounds.quiet).unref();
  const total = setTimeout(close, bounds.total).unref();
  // Node's HTTP parser reads no more: what still arrives is the rest of an unread body, not requests.
  socket.removeAllListeners('data');
  socket.on('data', function discard(chunk: Buffer): void {
    read += chunk.length;
    if (read >= bounds.bytes) close();
    else quiet.refresh();
  });
  // The client has read the response and closed its side: nothing more will arrive.
  socket.on('end', close);
  socket.on('close', close);
  socket.end();
  socket.resume();
  // Without Node's handle: an empty push ends the read the stream thinks is pending (documented for
  // `readable.push('')`), so the next read asks the socket again, and net.Socket restarts its reads.
  if (!startReading(socket)) {
    socket.push(Buffer.alloc(0));
    socket.read(0);
  }
}
