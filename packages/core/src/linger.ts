/** The lingering close after a 503 for a request whose body is still arriving: half-close, read and discard (bounded), then close. */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { startReading } from './tracker/internals.js';

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
 * the body the request declared (a chunked body declares none: time alone bounds it).
 */
export function lingerBounds(req: IncomingMessage, idleGrace: number, discardLimit: number): LingerBounds {
  const declared = req.headers['transfer-encoding'] === undefined ? Number(req.headers['content-length'] ?? 0) : NaN;
  return {
    quiet: idleGrace,
    total: 2 * idleGrace,
    bytes: Number.isFinite(declared) ? declared + discardLimit : Infinity,
  };
}

type Lingering = Socket & { destroySoon?: () => void };

/**
 * Once the response to `req` is written, Node closes its connection with `destroySoon()`
 * (lib/_http_server.js `resOnFinish`, https://github.com/nodejs/node/blob/v20.19.0/lib/_http_server.js):
 * with body bytes still unread, the kernel then answers the client's next bytes with a reset, and a
 * client that writes its whole body before reading loses the response from its receive buffer. So for
 * this one socket, lameduck half-closes instead (the response, then FIN), reads and discards what
 * still arrives, and closes within `bounds`, as nginx's lingering close does. Should Node stop calling
 * `destroySoon()`, the connection closes as before.
 */
export function lingerAfterResponse(req: IncomingMessage, bounds: LingerBounds): void {
  const socket = req.socket as Lingering | null;
  if (socket === null || socket.destroyed || typeof socket.destroySoon !== 'function') return;
  socket.destroySoon = function lingeringClose(): void {
    Reflect.deleteProperty(socket, 'destroySoon');
    linger(socket, bounds);
  };
}

function linger(socket: Socket, bounds: LingerBounds): void {
  let read = 0;
  const close = (): void => {
    clearTimeout(quiet);
    clearTimeout(total);
    socket.destroy();
  };
  const quiet = setTimeout(close, bounds.quiet).unref();
  const total = setTimeout(close, bounds.total).unref();
  // Node's HTTP parser reads no more: what still arrives is the rest of a refused body, not requests.
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
