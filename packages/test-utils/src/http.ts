/** HTTP helpers: servers on port 0 of 127.0.0.1, one real request, an upload across a shutdown, an HTTP/2 request and refusal. */
import http from 'node:http';
import type http2 from 'node:http2';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { once } from './promises.js';

/** Listens on 127.0.0.1 and a free port; resolves to the port. */
export async function listen(server: http.Server | https.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  socket: net.Socket;
}

export interface RequestOptions {
  path?: string;
  method?: string;
  agent?: http.Agent | https.Agent | false;
  headers?: http.OutgoingHttpHeaders;
  tls?: boolean;
  body?: string;
}

/** One real request; resolves with the whole reply, rejects with the socket error (ECONNRESET…). */
export function request(port: number, options: RequestOptions = {}): Promise<Reply> {
  const client = options.tls ? https : http;
  return new Promise((resolve, reject) => {
    let socket: net.Socket;
    const req = client.request(
      {
        host: '127.0.0.1',
        port,
        path: options.path ?? '/',
        method: options.method ?? 'GET',
        agent: options.agent,
        headers: options.headers,
        ...(options.tls ? { rejectUnauthorized: false } : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, socket }));
        res.on('error', reject);
      },
    );
    req.on('socket', (assigned) => (socket = assigned));
    req.on('error', (error: NodeJS.ErrnoException & { reusedSocket?: boolean }) => {
      // Tells a reset on a kept-alive socket (the server's doing) from one on a fresh connection.
      error.reusedSocket = req.reusedSocket;
      reject(error);
    });
    req.end(options.body);
  });
}

/** Closes a server and every socket it still holds. */
export async function closeServer(server: http.Server | https.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** How `uploadWhileClosing()`'s client behaves. */
export interface UploadOptions {
  /** Header lines added to the upload's head, each ending in CRLF. */
  headers?: string;
  /** First a `GET /` on the same connection, its response read whole: the upload comes on a kept connection. */
  keptAlive?: boolean;
  /**
   * Read while writing, from the start, as a streaming client does: the body follows the head at once
   * and stops at the end of the response stream. Otherwise the client reads only once its whole body is
   * sent, which it starts once the server has decided (answered already, or reading the body first).
   */
  reading?: boolean;
}

/**
 * Uploads `size` bytes with PUT on a connection opened before `start()` (which begins the shutdown;
 * the upload's head is sent once it has resolved). Resolves once the socket has closed, with what the
 * client read after the upload's head and the first socket error, if any: a server that closes with
 * body unread resets the client (ECONNRESET), and one that writes before reading loses the response
 * from its receive buffer (EPIPE).
 */
export async function uploadWhileClosing(
  port: number,
  server: http.Server,
  size: number,
  start: () => unknown,
  { headers = '', keptAlive = false, reading = false }: UploadOptions = {},
): Promise<{ received: string; error: NodeJS.ErrnoException | undefined }> {
  const client = net.connect(port, '127.0.0.1');
  await once(client, 'connect');
  let received = '';
  let ended = false;
  let error: NodeJS.ErrnoException | undefined;
  client.on('data', (data: Buffer) => (received += data.toString('latin1')));
  client.on('error', (caught: NodeJS.ErrnoException) => (error ??= caught));
  client.on('end', () => (ended = true));
  const closed = once(client, 'close');
  if (keptAlive) {
    client.write(`GET / HTTP/1.1\r\nHost: localhost\r\n${headers}\r\n`);
    await whole(client, () => received);
    received = '';
  }
  if (!reading) client.pause();
  const decided = new Promise<[http.IncomingMessage, http.ServerResponse]>((resolve) =>
    server.prependListener('request', (req, res) => resolve([req, res])),
  );
  await start();
  client.write(`PUT /files HTTP/1.1\r\nHost: localhost\r\n${headers}Content-Length: ${size}\r\n\r\n`);
  if (!reading) {
    const [req, res] = await decided;
    if (!res.writableFinished && req.readableFlowing !== true) {
      await Promise.race([once(res, 'finish'), once(req, 'resume')]);
    }
  }
  // As fast as the server takes it: a write whenever the socket's buffer has room.
  const chunk = Buffer.alloc(1024 * 1024, 'x');
  for (let sent = 0; sent < size && !ended && !client.destroyed; sent += chunk.length) {
    if (!client.write(chunk.subarray(0, size - sent))) await Promise.race([once(client, 'drain'), closed]);
  }
  client.resume();
  await closed;
  return { received, error };
}

/** Resolves once `read()` holds one whole response with a Content-Length (a warm-up's). */
async function whole(client: net.Socket, read: () => string): Promise<void> {
  for (;;) {
    const text = read();
    const headEnd = text.indexOf('\r\n\r\n');
    const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, headEnd))?.[1];
    if (headEnd >= 0 && length !== undefined && text.length >= headEnd + 4 + Number(length)) return;
    if (client.destroyed) throw new Error(`the warm-up's connection closed after ${JSON.stringify(text)}`);
    await Promise.race([once(client, 'data'), once(client, 'close')]);
  }
}

/** One HTTP/2 request on `session`; resolves with the status, headers and whole body. */
export function h2Request(
  session: http2.ClientHttp2Session,
  path: string,
): Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path });
    let body = '';
    let headers: http2.IncomingHttpHeaders = {};
    stream.setEncoding('utf8');
    stream.on('response', (received) => (headers = received));
    stream.on('data', (chunk: string) => (body += chunk));
    stream.on('end', () => resolve({ status: Number(headers[':status']), headers, body }));
    stream.on('error', reject);
  });
}

/**
 * The error code a new HTTP/2 stream on `session` meets once the server's GOAWAY arrived: Node 22 throws
 * it from `request()`, Node 24 and later emit it as the stream's `error`. `undefined` if the stream was
 * answered.
 */
export async function h2Refusal(session: http2.ClientHttp2Session): Promise<string | undefined> {
  try {
    const stream = session.request({ ':path': '/' });
    const answered = once(stream, 'response').then(() => undefined);
    const refused = once(stream, 'error').then(([error]) => (error as NodeJS.ErrnoException).code);
    return await Promise.race([answered, refused]);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code;
  }
}

/**
 * A free port on 127.0.0.1, for tools that refuse port 0 (systemd-socket-activate): the only place a port is
 * chosen before it is bound. A clash fails loudly (the tool cannot listen), it does not pass silently.
 */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Two connections to a TLS server that never finish a handshake: one that sends nothing, and one stalled
 * inside its ClientHello. Resolves once both are open, with the promise of each one's `close`.
 */
export async function unfinishedTlsConnections(port: number): Promise<Promise<unknown>[]> {
  const unused = net.connect(port, '127.0.0.1');
  await once(unused, 'connect');
  const stalled = net.connect(port, '127.0.0.1');
  await once(stalled, 'connect');
  // The first bytes of a ClientHello, then nothing.
  stalled.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00]));
  return [once(unused, 'close'), once(stalled, 'close')];
}
