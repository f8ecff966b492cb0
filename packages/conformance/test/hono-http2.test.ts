/** Hono over HTTP/2 (`serve({ createServer: http2.createServer })`) drains through the middleware: GOAWAY, in-flight streams finish, probes work. */
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { graceful } from '@lameduck/hono';
import { deferred, h2Refusal, h2Request, once } from '@lameduck/test-utils';
import { Hono } from 'hono';
import { nodeServerOf } from './servers.js';

describe.each(['hono', 'hono-node-server-1'] as const)('%s over HTTP/2', (kind) => {
  test('readiness flips, the stream in flight completes, GOAWAY refuses new streams', async () => {
    const arrived = deferred();
    const release = deferred();
    const app = new Hono();
    const middleware = graceful({ handleSignals: false, silent: true, readinessDelay: 300, idleGrace: 20 });
    app.use(middleware);
    app.get('/slow', async (c) => {
      arrived.resolve();
      await release.promise;
      return c.text('slow done');
    });
    const server = nodeServerOf(kind).serve({
      fetch: app.fetch,
      port: 0,
      hostname: '127.0.0.1',
      createServer: http2.createServer,
    }) as http2.Http2Server;
    middleware.lameduck.attach(server);
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const session = http2.connect(`http://127.0.0.1:${port}`);

    expect(await h2Request(session, '/readyz')).toMatchObject({ status: 200 });
    const slow = h2Request(session, '/slow');
    await arrived.promise;
    const goaway = once(session, 'goaway');
    const done = middleware.lameduck.shutdown();
    const readiness = await h2Request(session, '/readyz');
    expect(readiness.status).toBe(503);
    expect(readiness.headers.connection).toBeUndefined();
    await goaway;
    expect(await h2Refusal(session)).toBe('ERR_HTTP2_GOAWAY_SESSION');
    release.resolve();
    expect(await slow).toMatchObject({ status: 200, body: 'slow done' });
    expect(await done).toMatchObject({ graceful: true, forced: false });
    session.close();
    expect(server.listening).toBe(false);
  });
});
