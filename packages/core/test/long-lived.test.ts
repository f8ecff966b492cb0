/** Connections that never "finish": WebSockets, server-sent events and HTTP/2 sessions, with real clients. */
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { createLameduck, type Lameduck } from '@lameduck/core';
import { WebSocket, WebSocketServer } from 'ws';
import { closeServer, deferred, h2Refusal, h2Request, listen, once, request } from '@lameduck/test-utils';
import { TLS } from './helpers.js';

const quick = { silent: true, readinessDelay: 0, idleGrace: 20 } as const;

/** An HTTP server with a ws WebSocketServer on it, attached to `lameduck`. */
async function webSocketServer(lameduck: Lameduck) {
  const server = http.createServer((req, res) => {
    if (!lameduck.handle(req, res)) res.end('ok');
  });
  lameduck.attach(server);
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket) => socket.send('hello'));
  const port = await listen(server);
  return { server, wss, port };
}

async function connectWebSocket(port: number): Promise<WebSocket> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  await once(socket, 'message');
  return socket;
}

describe('WebSockets', () => {
  test('a closer sends 1001 "going away" at drain start; the drain ends when the sockets have closed', async () => {
    const lameduck = createLameduck(quick);
    const { wss, port } = await webSocketServer(lameduck);
    let closerSignal: AbortSignal | undefined;
    lameduck.addCloser((signal) => {
      closerSignal = signal;
      for (const client of wss.clients) client.close(1001, 'server shutting down');
    });
    const clients = [await connectWebSocket(port), await connectWebSocket(port)];
    expect(lameduck.stats()).toMatchObject({ upgraded: 2, inflight: 0 });
    const closes = clients.map((client) => once(client, 'close'));

    const result = await lameduck.shutdown();
    for (const [code, reason] of await Promise.all(closes)) {
      expect(code).toBe(1001);
      expect(String(reason)).toBe('server shutting down');
    }
    expect(result).toMatchObject({ graceful: true, forced: false, stuckUpgrades: [], destroyedConnections: 0 });
    expect(closerSignal).toBe(lameduck.deadlineSignal);
    expect(closerSignal?.aborted).toBe(false);
    wss.close();
  });

  test('a WebSocket nobody closes is destroyed at the deadline and reported', async () => {
    const lameduck = createLameduck({ ...quick, timeout: 700, cleanupReserve: 200 });
    const { wss, port } = await webSocketServer(lameduck);
    const client = await connectWebSocket(port);
    const closed = once(client, 'close');
    const result = await lameduck.shutdown();
    const [code] = await closed;
    expect(code).toBe(1006);
    expect(result).toMatchObject({ forced: true, stuckRequests: [], destroyedConnections: 1 });
    expect(result.stuckUpgrades).toEqual([{ method: 'GET', url: '/ws', age: expect.any(Number) }]);
    wss.close();
  });

  test('an upgrade asked for after the listener closed is refused with 503', async () => {
    const lameduck = createLameduck({ ...quick, idleGrace: 60_000, timeout: 70_000 });
    const { wss, port } = await webSocketServer(lameduck);
    // Only an open connection can still reach a closed listener: one that never sent a byte yet.
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const done = lameduck.shutdown();
    socket.write(
      'GET /ws HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    let received = '';
    socket.on('data', (data: Buffer) => (received += data.toString()));
    await once(socket, 'close');
    expect(received).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
    expect(received).toMatch(/\r\nconnection: close\r\n/);
    expect(received).toMatch(/\r\nretry-after: 5\r\n/);
    expect(await done).toMatchObject({ graceful: true, requests: { rejected: 1 } });
    wss.close();
  });

  // Found with @hono/node-ws, which answers an upgrade it has no route for on the socket after an await:
  // writing on the socket lameduck had ended emitted 'error' with no listener, and the process crashed.
  test('an application upgrade listener that answers the refused socket itself later does not crash the process', async () => {
    const lameduck = createLameduck({ ...quick, idleGrace: 60_000, timeout: 70_000 });
    const server = http.createServer((_req, res) => res.end('plain'));
    lameduck.attach(server);
    const answered = deferred();
    server.on('upgrade', (_req, socket: net.Socket) => {
      void Promise.resolve().then(() => {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        answered.resolve();
      });
    });
    const port = await listen(server);
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const done = lameduck.shutdown();
    socket.write('GET /nowhere HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    let received = '';
    socket.on('data', (data: Buffer) => (received += data.toString()));
    await Promise.all([once(socket, 'close'), answered.promise]);
    expect(received).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
    expect(received).not.toMatch(/404/);
    expect(await done).toMatchObject({ graceful: true, requests: { rejected: 1 } });
  });

  test('a server without upgrade listeners keeps treating Upgrade requests as plain requests', async () => {
    const lameduck = createLameduck(quick);
    const server = http.createServer((_req, res) => res.end('plain'));
    lameduck.attach(server);
    const port = await listen(server);
    const reply = await request(port, { headers: { connection: 'upgrade', upgrade: 'websocket' } });
    expect(reply.body).toBe('plain');
    expect(server.listenerCount('upgrade')).toBe(0);
    await closeServer(server);
  });
});

describe('server-sent events', () => {
  /** An SSE endpoint that sends a final event and ends when the drain starts (or never, with `/forever`). */
  async function eventServer(lameduck: Lameduck) {
    const server = http.createServer((req, res) => {
      if (lameduck.handle(req, res)) return;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
      res.write('data: first\n\n');
      if (req.url === '/forever') return;
      lameduck.drainSignal.addEventListener(
        'abort',
        () => {
          res.write('event: bye\ndata: server shutting down\n\n');
          res.end();
        },
        { once: true },
      );
    });
    lameduck.attach(server);
    return { server, port: await listen(server) };
  }

  function subscribe(port: number, path: string) {
    const first = deferred();
    let text = '';
    const done = new Promise<{ text: string; error?: NodeJS.ErrnoException }>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path, agent: new http.Agent({ keepAlive: true }) }, (res) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
          first.resolve();
        });
        res.on('end', () => resolve({ text }));
        res.on('error', (error) => resolve({ text, error }));
      });
      req.on('error', (error) => resolve({ text, error }));
    });
    return { first: first.promise, done };
  }

  test('the stream gets its final event and a clean end at drain start; the drain takes no longer', async () => {
    const lameduck = createLameduck({ ...quick, timeout: 60_000 });
    const { port } = await eventServer(lameduck);
    const events = subscribe(port, '/events');
    await events.first;
    const result = await lameduck.shutdown();
    const { text, error } = await events.done;
    expect(error).toBeUndefined();
    expect(text).toBe('data: first\n\nevent: bye\ndata: server shutting down\n\n');
    expect(result).toMatchObject({ graceful: true, forced: false });
  });

  test('a stream that never ends is destroyed at the deadline and reported', async () => {
    const lameduck = createLameduck({ ...quick, timeout: 700, cleanupReserve: 200 });
    const { port } = await eventServer(lameduck);
    const events = subscribe(port, '/forever');
    await events.first;
    const result = await lameduck.shutdown();
    expect((await events.done).error).toMatchObject({ code: 'ECONNRESET' });
    expect(result.stuckRequests).toEqual([
      { method: 'GET', url: '/forever', age: expect.any(Number), olderThanShutdown: true },
    ]);
    expect(result.forced).toBe(true);
  });
});

describe('HTTP/2', () => {
  type H2Server = http2.Http2Server | http2.Http2SecureServer;

  /** `/slow` waits for `release`; `/late` answers through lameduck once the drain has started. */
  async function h2Server(lameduck: Lameduck, secure: boolean) {
    const arrived = deferred();
    const release = deferred();
    const handler = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
      if (req.url === '/late') {
        arrived.resolve();
        lameduck.drainSignal.addEventListener('abort', () => lameduck.handle(req, res), { once: true });
        return;
      }
      if (lameduck.handle(req, res)) return;
      if (req.url === '/slow') {
        arrived.resolve();
        void release.promise.then(() => res.end('slow done'));
        return;
      }
      res.end('ok');
    };
    const server: H2Server = secure
      ? http2.createSecureServer({ ...TLS, allowHTTP1: true }, handler)
      : http2.createServer(handler);
    lameduck.attach(server);
    const port = await listen(server as unknown as http.Server);
    return { server, port, arrived, release };
  }

  test.each([
    ['h2c', false],
    ['TLS', true],
  ])('%s: GOAWAY at drain start, the stream in flight completes, a new stream is refused', async (_, secure) => {
    const lameduck = createLameduck({ ...quick, timeout: 60_000 });
    const { port, arrived, release } = await h2Server(lameduck, secure);
    const session = http2.connect(`${secure ? 'https' : 'http'}://localhost:${port}`, { rejectUnauthorized: false });
    expect(await h2Request(session, '/readyz')).toMatchObject({ status: 200 });
    const goaway = once(session, 'goaway');
    const slow = h2Request(session, '/slow');
    await arrived.promise;
    expect(lameduck.stats().inflight).toBe(1);

    const done = lameduck.shutdown();
    await goaway;
    expect(await h2Refusal(session)).toBe('ERR_HTTP2_GOAWAY_SESSION');
    release.resolve();
    const reply = await slow;
    expect(reply).toMatchObject({ status: 200, body: 'slow done' });
    expect(reply.headers.connection).toBeUndefined();
    expect(await done).toMatchObject({ graceful: true, forced: false, requests: { completed: 1 } });
    session.close();
  });

  test('readiness fails during the lame-duck phase and a late stream gets 503 without a Connection header', async () => {
    const lameduck = createLameduck({ ...quick, readinessDelay: 500, timeout: 60_000 });
    const { port, arrived } = await h2Server(lameduck, false);
    const session = http2.connect(`http://localhost:${port}`);
    const late = h2Request(session, '/late');
    await arrived.promise;
    const done = lameduck.shutdown();
    const readiness = await h2Request(session, '/readyz');
    expect(readiness.status).toBe(503);
    expect(JSON.parse(readiness.body)).toMatchObject({ status: 'shutting down' });
    expect((await h2Request(session, '/livez')).status).toBe(200);
    const rejected = await late;
    expect(rejected.status).toBe(503);
    expect(rejected.headers['retry-after']).toBe('5');
    expect(rejected.headers.connection).toBeUndefined();
    expect(await done).toMatchObject({ graceful: true, requests: { rejected: 1 } });
    session.close();
  });

  test('a stream that never ends is destroyed at the deadline and reported', async () => {
    const lameduck = createLameduck({ ...quick, timeout: 700, cleanupReserve: 200 });
    const { port, arrived } = await h2Server(lameduck, true);
    const session = http2.connect(`https://localhost:${port}`, { rejectUnauthorized: false });
    session.on('error', () => {});
    const hung = h2Request(session, '/slow').catch((error: NodeJS.ErrnoException) => error);
    await arrived.promise;
    const result = await lameduck.shutdown();
    expect(result).toMatchObject({ forced: true });
    expect(result.stuckRequests).toEqual([
      { method: 'GET', url: '/slow', age: expect.any(Number), olderThanShutdown: true },
    ]);
    expect(await hung).toBeDefined();
    session.destroy();
  });

  test('HTTP/1 clients of an allowHTTP1 server drain with Connection: close', async () => {
    const lameduck = createLameduck({ ...quick, timeout: 60_000 });
    const { port, arrived, release } = await h2Server(lameduck, true);
    const slow = request(port, { tls: true, path: '/slow', agent: false });
    await arrived.promise;
    const done = lameduck.shutdown();
    release.resolve();
    const reply = await slow;
    expect(reply).toMatchObject({ status: 200, body: 'slow done' });
    expect(reply.headers.connection).toBe('close');
    expect(await done).toMatchObject({ graceful: true });
  });
});
