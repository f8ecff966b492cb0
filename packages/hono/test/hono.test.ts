/** What is Hono's own in @lameduck/hono (real servers from serve()); what every adapter shares is in the conformance matrix. */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { serve as serve1 } from '@hono/node-server-1';
import { serve as serve2, upgradeWebSocket as builtInUpgrade } from '@hono/node-server';
import { createNodeWebSocket } from '@hono/node-ws';
import { graceful, type Env, type GracefulOptions } from '@lameduck/hono';
import { aborted, deferred, h2Request, once, request } from '@lameduck/test-utils';
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { WebSocket, WebSocketServer } from 'ws';

const QUIET = { handleSignals: false, silent: true, readinessDelay: 0, idleGrace: 20 } as const;
/** A drain whose last stretch (where a late request gets the 503) starts 1 ms after the listener closes. */
const LAST_STRETCH = { idleGrace: 60_000, timeout: 70_000, abortBefore: 64_999 } as const;
const FIXTURES = join(__dirname, '..', '..', 'core', 'test', 'fixtures');
const TLS = { key: readFileSync(join(FIXTURES, 'key.pem')), cert: readFileSync(join(FIXTURES, 'cert.pem')) };
type Serve = typeof serve2;
type Server = ReturnType<Serve>;

const servers: Server[] = [];
const agents: http.Agent[] = [];
afterEach(async () => {
  for (const agent of agents.splice(0)) agent.destroy();
  for (const server of servers.splice(0)) {
    if ('closeAllConnections' in server) server.closeAllConnections();
    if (server.listening) await new Promise((resolve) => server.close(resolve));
  }
});

/** Serves `app` on port 0 as users do, attached before it accepts a connection; resolves once listening. */
async function start(serve: Serve, app: Hono<Env>, options: GracefulOptions, extra: object = {}) {
  const middleware = graceful({ ...QUIET, ...options });
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1', ...extra });
  servers.push(server);
  middleware.lameduck.attach(server);
  await once(server, 'listening');
  return { middleware, server, port: (server.address() as AddressInfo).port };
}

function keepAlive(): http.Agent {
  const agent = new http.Agent({ keepAlive: true });
  agents.push(agent);
  return agent;
}

describe.each([
  ['@hono/node-server 2.x', serve2],
  ['@hono/node-server 1.x', serve1 as unknown as Serve],
])('Hono on %s', (_name, serve) => {
  test('routes reach the manager as c.get("lameduck"), typed through Env', async () => {
    const middleware = graceful(QUIET);
    const app = new Hono<Env>();
    app.use(middleware);
    app.get('/state', (c) => c.text(c.get('lameduck').state));
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    servers.push(server);
    middleware.lameduck.attach(server);
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    expect(await request(port, { path: '/state' })).toMatchObject({ status: 200, body: 'serving' });
  });

  test('probes and the 503 are Hono responses: middleware around it and CORS set before it see them', async () => {
    const app = new Hono<Env>();
    const seen: string[] = [];
    app.use(async (c, next) => {
      await next();
      seen.push(`${c.req.path} ${c.res.status}`);
      c.header('x-around', 'yes');
    });
    app.use(cors({ origin: 'https://example.com' }));
    const middleware = graceful({ ...QUIET, ...LAST_STRETCH });
    app.use(middleware);
    app.get('/', (c) => c.text('ok'));
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
    servers.push(server);
    middleware.lameduck.attach(server);
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const origin = { origin: 'https://example.com' };
    const agent = keepAlive();

    const ready = await request(port, { path: '/readyz', headers: origin, agent });
    expect(ready.status).toBe(200);
    expect(ready.headers['x-around']).toBe('yes');
    expect(ready.headers['access-control-allow-origin']).toBe('https://example.com');
    const done = middleware.lameduck.shutdown();
    await aborted(middleware.lameduck.deadlineSignal);
    const late = await request(port, { headers: origin, agent });
    expect(late.status).toBe(503);
    expect(late.headers.connection).toBe('close');
    expect(late.headers['retry-after']).toBe('5');
    expect(late.headers['x-around']).toBe('yes');
    expect(late.headers['access-control-allow-origin']).toBe('https://example.com');
    expect(seen).toEqual(['/readyz 200', '/ 503']);
    expect(await done).toMatchObject({ graceful: true, requests: { rejected: 1 } });
  });

  test('a POST whose body the route never reads, in flight at the drain: its 200, then a clean close', async () => {
    // @hono/node-server drains an unread body after the response; lameduck's Connection: close must not fight it.
    const arrived = deferred();
    const release = deferred();
    const app = new Hono<Env>();
    const { middleware, port } = await start(serve, app, {});
    app.use(middleware);
    app.post('/upload', async (c) => {
      arrived.resolve();
      await release.promise;
      return c.text('not read');
    });
    const body = 'x'.repeat(256 * 1024);
    const reply = request(port, { path: '/upload', method: 'POST', body, agent: keepAlive() });
    await arrived.promise;
    const done = middleware.lameduck.shutdown();
    release.resolve();
    const answered = await reply;
    expect(answered).toMatchObject({ status: 200, body: 'not read' });
    expect(answered.headers.connection).toBe('close');
    expect(await done).toMatchObject({ graceful: true, forced: false, destroyedConnections: 0 });
  });

  test('a body beyond discardLimit in the last stretch: the 503 arrives, then the connection closes', async () => {
    // lameduck answers without reading it; node-server's own drain of unread bodies must not hold or break that.
    const app = new Hono<Env>();
    const { middleware, port } = await start(serve, app, { ...LAST_STRETCH, discardLimit: 1_024 });
    app.use(middleware);
    app.post('/upload', (c) => c.text('never'));
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {}); // a client still sending may see EPIPE or a reset once the server closes
    await once(socket, 'connect');
    socket.write('GET /livez HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await once(socket, 'data');
    const done = middleware.lameduck.shutdown();
    await aborted(middleware.lameduck.deadlineSignal);
    let received = '';
    socket.on('data', (data: Buffer) => (received += data.toString()));
    const closed = once(socket, 'close');
    socket.write('POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1048576\r\n\r\n');
    socket.write(Buffer.alloc(64 * 1024, 'x'));
    await closed;
    expect(received).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
    expect(received).toMatch(/\r\nconnection: close\r\n/i);
    expect(await done).toMatchObject({ graceful: true, requests: { rejected: 1 } });
  });

  test('HTTPS (createServer: https.createServer): the idle keep-alive socket closes; graceful', async () => {
    const app = new Hono<Env>();
    const { middleware, port } = await start(serve, app, {}, { createServer: https.createServer, serverOptions: TLS });
    app.use(middleware);
    app.get('/', (c) => c.text('ok'));
    const agent = new https.Agent({ keepAlive: true, rejectUnauthorized: false });
    agents.push(agent);
    const reply = await request(port, { tls: true, agent });
    expect(reply).toMatchObject({ status: 200, body: 'ok' });
    const closed = once(reply.socket, 'close');
    expect(await middleware.lameduck.shutdown()).toMatchObject({ graceful: true, destroyedConnections: 0 });
    await closed;
  });

  test('HTTP/2 over TLS (createSecureServer): readiness 503 with no Connection header, then GOAWAY; graceful', async () => {
    const app = new Hono<Env>();
    const { middleware, port } = await start(
      serve,
      app,
      { idleGrace: 60_000, timeout: 70_000, readinessDelay: 1_000 },
      { createServer: http2.createSecureServer, serverOptions: TLS },
    );
    app.use(middleware);
    app.get('/', (c) => c.text('ok'));
    const session = http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false });
    expect(await h2Request(session, '/')).toMatchObject({ status: 200, body: 'ok' });
    const done = middleware.lameduck.shutdown();
    const readiness = await h2Request(session, '/readyz');
    expect(readiness.status).toBe(503);
    expect(readiness.headers.connection).toBeUndefined();
    const goaway = once(session, 'goaway');
    await goaway;
    session.close();
    expect(await done).toMatchObject({ graceful: true, forced: false });
  });

  test('a WebSocket nobody closes is reported at the deadline (node-server 2: its own; 1.x: @hono/node-ws)', async () => {
    const app = new Hono<Env>();
    const builtIn = serve === serve2;
    const wss = new WebSocketServer({ noServer: true });
    const extra = builtIn ? { websocket: { server: wss } } : {};
    const { middleware, server, port } = await start(serve, app, { timeout: 700, cleanupReserve: 200 }, extra);
    app.use(middleware);
    const nodeWs = builtIn ? undefined : createNodeWebSocket({ app: app as unknown as Hono });
    const upgradeWebSocket = nodeWs?.upgradeWebSocket ?? builtInUpgrade;
    app.get(
      '/ws',
      upgradeWebSocket(() => ({ onOpen: (_event, socket) => socket.send('hello') })),
    );
    nodeWs?.injectWebSocket(server);
    const client = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    await once(client, 'message');
    const closed = once(client, 'close');
    const result = await middleware.lameduck.shutdown();
    expect((await closed)[0]).toBe(1006);
    expect(result).toMatchObject({ forced: true, stuckRequests: [] });
    expect(result.stuckUpgrades).toEqual([{ method: 'GET', url: '/ws', age: expect.any(Number) }]);
    wss.close();
  });
  // @hono/node-ws answered an upgrade with no WebSocket route on the socket lameduck had refused: write after end, a crash.
  test('upgrades after the listener closed get the 503, to a WebSocket route or not, and nothing crashes', async () => {
    const app = new Hono<Env>();
    const builtIn = serve === serve2;
    const wss = new WebSocketServer({ noServer: true });
    const extra = builtIn ? { websocket: { server: wss } } : {};
    const { middleware, server, port } = await start(serve, app, { idleGrace: 60_000, timeout: 70_000 }, extra);
    app.use(middleware);
    const nodeWs = builtIn ? undefined : createNodeWebSocket({ app: app as unknown as Hono });
    app.get(
      '/ws',
      (nodeWs?.upgradeWebSocket ?? builtInUpgrade)(() => ({})),
    );
    nodeWs?.injectWebSocket(server);
    // Accepted by the server, not only connected (the kernel's backlog is reset when the listener closes).
    let count = 0;
    const accepted = deferred();
    server.on('connection', () => ++count === 2 && accepted.resolve());
    const sockets = ['/ws', '/elsewhere'].map(() => net.connect(port, '127.0.0.1'));
    await accepted.promise;
    const done = middleware.lameduck.shutdown();
    const answers = await Promise.all(
      ['/ws', '/elsewhere'].map(async (path, index) => {
        const socket = sockets[index]!;
        let received = '';
        socket.on('data', (data: Buffer) => (received += data.toString()));
        const closed = once(socket, 'close');
        socket.write(
          `GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
            'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
        );
        await closed;
        return received.split('\r\n', 1)[0];
      }),
    );
    expect(answers).toEqual(['HTTP/1.1 503 Service Unavailable', 'HTTP/1.1 503 Service Unavailable']);
    expect(await done).toMatchObject({ graceful: true, requests: { rejected: 2 } });
    wss.close();
  });
});

describe('outside Node', () => {
  test('with no c.env.incoming (Bun, Deno, Workers) every request fails at once with LAMEDUCK_UNSUPPORTED_RUNTIME', async () => {
    const app = new Hono();
    const errors: unknown[] = [];
    app.onError((error, c) => {
      errors.push(error);
      return c.text('failed', 500);
    });
    app.use(graceful(QUIET));
    app.get('/', (c) => c.text('ok'));
    // app.request() is how Hono runs without a server: c.env is what the runtime passes (nothing here).
    expect((await app.request('/')).status).toBe(500);
    expect((await app.request('/readyz', {}, { bindings: 'of a Worker' })).status).toBe(500);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatchObject({
      code: 'LAMEDUCK_UNSUPPORTED_RUNTIME',
      message: expect.stringContaining('@hono/node-server'),
    });
  });
});
