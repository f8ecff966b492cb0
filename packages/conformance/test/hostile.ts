/** Conformance under unusual and hostile HTTP/1 traffic (issue 8): pipelining, slow drips, HTTP/1.0, 100-continue. */
import type { AddressInfo } from 'node:net';
import fastifyWebsocket from '@fastify/websocket';
import type { LameduckOptions, ShutdownResult } from '@lameduck/core';
import fastifyGraceful from '@lameduck/fastify';
import type { FastifyInstance } from 'fastify';
import { WebSocket } from 'ws';
import { deferred, once, request, type Deferred } from '@lameduck/test-utils';
import {
  accepted,
  drip,
  keepAliveClient,
  rawClient,
  serverSockets,
  type RawClient,
  type RawResponse,
} from './raw-http.js';
import { LAST_STRETCH, lastStretch } from './last-stretch.js';
import { load } from './load.js';
import { start, type Kind, type Running } from './servers.js';

const AUTH = { authorization: 'yes' };
/** Three `GET /slow` in one write, as a pipelining client sends them. */
const PIPELINE = [1, 2, 3]
  .map((n) => `GET /slow?n=${n} HTTP/1.1\r\nHost: localhost\r\nAuthorization: yes\r\n\r\n`)
  .join('');
/** A request line and headers that never end: what a slowloris (or a very slow client) sends. */
const NEVER_ENDING = `GET / HTTP/1.1\r\nHost: localhost\r\nX-Drip: ${'a'.repeat(200)}`;
const DRIPPERS = 50;
const DRIP_EVERY = 20;
// Ten drips per idleGrace: under CPU load a stalled client must not look quiet to today's idle check.
const DRIP_IDLE_GRACE = 200;
/**
 * Bytes a dripper may still send once the drain has started before it gives up: 60 × 20 ms is three
 * times the 2 × idleGrace (400 ms) within which a socket without a complete request must be closed.
 */
const DRIP_BUDGET = 60;

const summary = (responses: RawResponse[]) =>
  responses.map(({ status, body, headers }) => ({ status, body, connection: headers.connection }));

export function hostile(kind: Kind): void {
  describe(`${kind}: hostile traffic`, () => {
    let running: Running | undefined;
    let release: Deferred<void>;
    let arrived: number;
    let allArrived: Deferred<void>;
    let expected: number;
    async function server(options: LameduckOptions, requests = 1): Promise<Running> {
      release = deferred();
      allArrived = deferred();
      arrived = 0;
      expected = requests;
      running = await start(
        kind,
        { silent: true, readinessDelay: 0, idleGrace: 20, timeout: 20_000, ...options },
        {
          slow: () => {
            if (++arrived === expected) allArrived.resolve();
            return release.promise;
          },
        },
      );
      // Express and Koa attach their server with its first request.
      const warmUp = serverSockets(running.server);
      await request(running.port, { headers: AUTH, agent: false });
      await warmUp.closed();
      return running;
    }
    afterEach(async () => {
      release?.resolve();
      await running?.close();
      running = undefined;
    });

    test('pipelining (control): three requests in one write get 200, 200, 200 on a kept-alive socket', async () => {
      const { port } = await server({}, 3);
      const client = await rawClient(port);
      client.socket.write(PIPELINE);
      await allArrived.promise;
      release.resolve();
      const responses = await client.waitFor(3);
      expect(summary(responses)).toEqual(Array(3).fill({ status: 200, body: 'slow done', connection: 'keep-alive' }));
      expect(client.socket.destroyed).toBe(false);
      client.socket.destroy();
    });

    // Issue 8, item 1. Before the fix: the first response carries Connection: close and Node ends the socket
    // after it; requests 2 and 3 (their handlers ran) get nothing, and the result says completed 1.
    test('pipelining: three requests read before shutdown get three 200s in order; only the last closes', async () => {
      const { port, lameduck } = await server({}, 3);
      const client = await rawClient(port);
      client.socket.write(PIPELINE);
      await allArrived.promise;
      const done = lameduck.shutdown();
      release.resolve();
      const responses = await client.waitFor(3);
      expect(await client.closed).toBe('end');
      expect(summary(responses)).toEqual([
        { status: 200, body: 'slow done', connection: 'keep-alive' },
        { status: 200, body: 'slow done', connection: 'keep-alive' },
        { status: 200, body: 'slow done', connection: 'close' },
      ]);
      expect(await done).toMatchObject({ graceful: true, forced: false, requests: { completed: 3 } });
    });

    // Issue 8, item 1. Whatever the fix, a shutdown that lost a response the server read is not graceful.
    // Before the fix: one response of three arrives and the result says graceful, completed 1.
    test('pipelining: the result is graceful only if every pipelined request got its response', async () => {
      const { port, lameduck } = await server({}, 3);
      const client = await rawClient(port);
      client.socket.write(PIPELINE);
      await allArrived.promise;
      const done = lameduck.shutdown();
      release.resolve();
      await client.closed;
      const delivered = client.responses().length;
      const result = await done;
      expect({ graceful: result.graceful, completed: result.requests.completed }).toEqual({
        graceful: delivered === 3,
        completed: 3,
      });
    });

    // Issue 8, item 2. Before the fix: a socket that keeps sending bytes is never quiet for idleGrace, so each
    // one holds the drain until the deadline (20 s here); every dripper outlasts its budget.
    test('slow drip: sockets dripping a request line are closed soon after the drain starts', async () => {
      const { port, lameduck, server: httpServer } = await server({ idleGrace: DRIP_IDLE_GRACE });
      const all = accepted(httpServer, DRIPPERS);
      const drippers = Array.from({ length: DRIPPERS }, () => drip(port, NEVER_ENDING, DRIP_EVERY));
      await Promise.all([all, ...drippers.map((dripper) => dripper.started)]);
      const done = lameduck.shutdown();
      for (const dripper of drippers) dripper.limit(DRIP_BUDGET);
      const outcomes = await Promise.all(drippers.map((dripper) => dripper.outcome));
      const result = await done;
      const tally = (name: string) => outcomes.filter((outcome) => outcome === name).length;
      expect({ closed: tally('closed'), outlasted: tally('outlasted'), sent: tally('sent') }).toEqual({
        closed: DRIPPERS,
        outlasted: 0,
        sent: 0,
      });
      expect(result).toMatchObject({ graceful: true, forced: false, destroyedConnections: 0, stuckRequests: [] });
    });

    test('slow drip: a socket whose headers complete soon after the drain starts is served, then closed', async () => {
      const { port, lameduck } = await server({ idleGrace: 1_000 });
      const client = await rawClient(port);
      const text = 'GET / HTTP/1.1\r\nHost: localhost\r\nAuthorization: yes\r\n\r\n';
      let sent = 0;
      let done: Promise<ShutdownResult> | undefined;
      const complete = deferred();
      // One byte every 5 ms; the drain starts with the last 4 bytes (about 20 ms of dripping) to go.
      const timer = setInterval(() => {
        if (sent === text.length - 4) done = lameduck.shutdown();
        client.socket.write(text[sent++]!);
        if (sent === text.length) {
          clearInterval(timer);
          complete.resolve();
        }
      }, 5);
      await complete.promise;
      const [response] = await client.waitFor(1);
      expect(await client.closed).toBe('end');
      expect(response).toMatchObject({ status: 200, body: 'ok', headers: { connection: 'close' } });
      expect(await done).toMatchObject({ graceful: true, forced: false, requests: { completed: 1, rejected: 0 } });
    });

    test('pipelining after the listener closed: three requests on a kept connection get three 200s; only the last closes', async () => {
      const { port, lameduck } = await server({ idleGrace: 60_000 }, 3);
      const client = await rawClient(port);
      client.socket.write('GET / HTTP/1.1\r\nHost: localhost\r\nAuthorization: yes\r\n\r\n');
      await client.waitFor(1);
      const done = lameduck.shutdown();
      expect(lameduck.state).toBe('draining');
      client.socket.write(PIPELINE);
      await allArrived.promise;
      release.resolve();
      expect(await client.closed).toBe('end');
      expect(summary(client.responses())).toEqual([
        { status: 200, body: 'ok', connection: 'keep-alive' },
        { status: 200, body: 'slow done', connection: 'keep-alive' },
        { status: 200, body: 'slow done', connection: 'keep-alive' },
        { status: 200, body: 'slow done', connection: 'close' },
      ]);
      expect(await done).toMatchObject({ graceful: true, forced: false, requests: { completed: 3, rejected: 0 } });
    });

    test('HTTP/1.0: a request in flight gets its whole 200, then the server closes the socket', async () => {
      const { port, lameduck } = await server({});
      const client = await rawClient(port);
      client.socket.write('GET /slow HTTP/1.0\r\nAuthorization: yes\r\n\r\n');
      await allArrived.promise;
      const done = lameduck.shutdown();
      release.resolve();
      expect(await client.closed).toBe('end');
      expect(summary(client.responses())).toEqual([{ status: 200, body: 'slow done', connection: 'close' }]);
      expect(await done).toMatchObject({ graceful: true, forced: false, requests: { completed: 1 } });
    });

    test('HTTP/1.0: a request on a connection opened before the listener closed is served, then closed', async () => {
      const { port, lameduck, server: httpServer } = await server({ idleGrace: 60_000 });
      const connected = accepted(httpServer, 1);
      const client = await rawClient(port);
      await connected;
      const done = lameduck.shutdown();
      client.socket.write('GET / HTTP/1.0\r\nAuthorization: yes\r\n\r\n');
      expect(await client.closed).toBe('end');
      expect(summary(client.responses())).toEqual([{ status: 200, body: 'ok', connection: 'close' }]);
      expect(await done).toMatchObject({ graceful: true, forced: false, requests: { completed: 1, rejected: 0 } });
    });

    test('HTTP/1.0 in the last stretch: a request on a connection opened before the listener closed gets a 503 and a clean close', async () => {
      const { port, lameduck, server: httpServer } = await server(LAST_STRETCH);
      const connected = accepted(httpServer, 1);
      const client = await rawClient(port);
      await connected;
      const done = lameduck.shutdown();
      await lastStretch(lameduck);
      client.socket.write('GET / HTTP/1.0\r\nAuthorization: yes\r\n\r\n');
      expect(await client.closed).toBe('end');
      const [late] = client.responses();
      expect(late).toMatchObject({ status: 503, headers: { 'retry-after': '5' } });
      expect(JSON.parse(late!.body)).toMatchObject({ status: 'shutting down' });
      expect(await done).toMatchObject({ graceful: true, forced: false, requests: { rejected: 1 } });
    });

    test('Expect: 100-continue in the last stretch: a 503 and a clean close, no reset', async () => {
      const { port, lameduck } = await server(LAST_STRETCH);
      const client = await rawClient(port);
      client.socket.write('GET / HTTP/1.1\r\nHost: localhost\r\nAuthorization: yes\r\n\r\n');
      await client.waitFor(1);
      const done = lameduck.shutdown();
      await lastStretch(lameduck);
      const body = 'x'.repeat(1_000);
      client.socket.write(
        `POST /upload HTTP/1.1\r\nHost: localhost\r\nAuthorization: yes\r\nExpect: 100-continue\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      // What a client does: the body follows a 100 Continue, and is not sent after a final answer.
      await client.waitUntil((data) => data.includes('HTTP/1.1 100 Continue') || client.responses().length === 2);
      if (client.responses().length < 2) client.socket.write(body);
      expect(await client.closed).toBe('end');
      const [, late] = client.responses();
      expect(late).toMatchObject({ status: 503, headers: { connection: 'close', 'retry-after': '5' } });
      expect(await done).toMatchObject({ graceful: true, forced: false, requests: { rejected: 1 } });
    });

    test('Expect: 100-continue in flight when the drain starts: the upload completes and gets its answer', async () => {
      const { port, lameduck } = await server({});
      const client = await rawClient(port);
      client.socket.write(
        'GET /slow HTTP/1.1\r\nHost: localhost\r\nAuthorization: yes\r\nExpect: 100-continue\r\n\r\n',
      );
      await allArrived.promise;
      const done = lameduck.shutdown();
      release.resolve();
      const [reply] = await client.waitFor(1);
      expect(reply).toMatchObject({
        status: 200,
        body: 'slow done',
        informational: [100],
        headers: { connection: 'close' },
      });
      expect(await client.closed).toBe('end');
      expect(await done).toMatchObject({ graceful: true, forced: false });
    });

    test('HEAD on the probes: the GET answer without a body, serving and draining', async () => {
      const { port, lameduck } = await server({ idleGrace: 60_000 });
      const head = (path: string) => `HEAD ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`;
      const [liveness, readiness] = [await rawClient(port), await rawClient(port)];
      liveness.socket.write(head('/livez'));
      readiness.socket.write(head('/readyz'));
      await Promise.all([liveness.waitFor(1, ['HEAD']), readiness.waitFor(1, ['HEAD'])]);
      const done = lameduck.shutdown();
      liveness.socket.write(head('/livez'));
      readiness.socket.write(head('/readyz'));
      await Promise.all([liveness.closed, readiness.closed]);
      const statuses = (client: RawClient) =>
        client.responses(['HEAD', 'HEAD']).map(({ status, body }) => [status, body]);
      expect(statuses(liveness)).toEqual([
        [200, ''],
        [200, ''],
      ]);
      expect(statuses(readiness)).toEqual([
        [200, ''],
        [503, ''],
      ]);
      for (const client of [liveness, readiness]) {
        for (const response of client.responses(['HEAD', 'HEAD'])) {
          expect(response.headers['content-type']).toMatch(/^application\/json/);
        }
        // Nothing after the last head: a body would show up here.
        expect(client.data.endsWith('\r\n\r\n')).toBe(true);
      }
      expect(await done).toMatchObject({ graceful: true, forced: false });
    });

    test('tracked state returns to its baseline: keep-alive requests, short connections, a vanished client, a WebSocket', async () => {
      const { port, lameduck, server: httpServer } = await server({});
      const baseline = lameduck.stats();
      expect(baseline).toMatchObject({ connections: 0, inflight: 0, upgraded: 0 });
      const sockets = serverSockets(httpServer);
      let budget = 400;
      await Promise.all(
        Array.from({ length: 4 }, () => keepAliveClient(port, () => budget-- > 0, 'Authorization: yes\r\n')),
      );
      for (let index = 0; index < 20; index++) {
        let first = true;
        await keepAliveClient(port, () => first && !(first = false), 'Authorization: yes\r\n');
        const silent = await rawClient(port);
        silent.socket.end();
        await silent.closed;
      }
      // A client that resets its connection with its request in flight.
      const vanishing = await rawClient(port);
      vanishing.socket.write('GET /slow HTTP/1.1\r\nHost: localhost\r\nAuthorization: yes\r\n\r\n');
      await allArrived.promise;
      vanishing.socket.resetAndDestroy();
      const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: AUTH });
      await once(socket, 'message');
      expect(lameduck.stats().upgraded).toBe(1);
      socket.close();
      await once(socket, 'close');
      await sockets.closed();
      // Before the vanished client's handler has finished: its request left with its connection.
      expect(lameduck.stats()).toEqual(baseline);
    });

    if (kind.startsWith('fastify')) fastifyWebSockets(kind);
  });
}

/** Issue 8, item 4a: @fastify/websocket routes an upgrade through Fastify with a response that never closes. */
function fastifyWebSockets(kind: Kind): void {
  let app: FastifyInstance | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function websocketApp(options: LameduckOptions): Promise<{ app: FastifyInstance; port: number }> {
    const factory = load(kind === 'fastify' ? 'fastify' : kind) as (options: { logger: false }) => FastifyInstance;
    app = factory({ logger: false });
    await app.register(fastifyGraceful, { silent: true, handleSignals: false, readinessDelay: 0, ...options });
    await app.register(fastifyWebsocket);
    // No closer registered: nothing ends the WebSocket before the deadline.
    app.get('/ws', { websocket: true }, (socket) => socket.send('hello'));
    await app.listen({ port: 0, host: '127.0.0.1' });
    return { app, port: (app.server.address() as AddressInfo).port };
  }

  // Before the fix: the deadline reports it twice, as a stuck GET /ws request and as a destroyed upgrade.
  test('@fastify/websocket: a WebSocket open at the deadline is reported once, as an upgrade', async () => {
    const { app, port } = await websocketApp({ timeout: 800, cleanupReserve: 300 });
    const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    socket.on('error', () => {});
    await once(socket, 'message');
    const closed = once(socket, 'close');
    const result = await app.lameduck.shutdown();
    await closed;
    expect(result).toMatchObject({
      forced: true,
      stuckRequests: [],
      stuckUpgrades: [{ method: 'GET', url: '/ws', age: expect.any(Number) }],
      destroyedConnections: 1,
    });
  });
}
