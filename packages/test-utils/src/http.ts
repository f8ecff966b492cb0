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

/**
 * Uploads `size` bytes with PUT like a client that reads its response only once its body is sent,
 * after `start()` (which begins the shutdown; the request is sent once it has resolved). The body follows once the server has decided: either
 * it answered already, or it is reading the body first. Resolves with what the client read and the
 * socket error, if any: a server that closed with body unread resets the client and loses its 503.
 */
export async function uploadWhileClosing(
  port: number,
  server: http.Server,
  size: number,
  start: () => unknown,
  headers = '',
): Promise<{ received: string; error: NodeJS.ErrnoException | undefined }> {
  const client = net.connect(port, '127.0.0.1');
  await once(client, 'connect');
  client.pause();
  let received = '';
  const ended = new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    client.on('data', (data: Buffer) => (received += data.toString('latin1')));
    client.on('error', resolve);
    client.on('end', () => resolve(undefined));
  });
  const decided = new Promise<[http.IncomingMessage, http.ServerResponse]>((resolve) =>
    server.prependListener('request', (req, res) => resolve([req, res])),
  );
  await start();
  client.write(`PUT /files HTTP/1.1\r\nHost: localhost\r\n${headers}Content-Length: ${size}\r\n\r\n`);
  const [req, res] = await decided;
  if (!res.writableFinished && req.readableFlowing !== true) {
    await Promise.race([once(res, 'finish'), once(req, 'resume')]);
  }
  const chunk = Buffer.alloc(64 * 1024, 'x');
  for (let sent = 0; sent < size; sent += chunk.length) {
    if (!(await new Promise<boolean>((resolve) => client.write(chunk, (error) => resolve(!error))))) break;
  }
  client.resume();
  const error = await ended;
  client.destroy();
  return { received, error };
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
