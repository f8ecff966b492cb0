/** Fastify with `http2: true` drains through the plugin: GOAWAY, in-flight streams finish, probes work. */
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import graceful from '@lameduck/fastify';
import Fastify from 'fastify';
import { deferred, h2Refusal, h2Request, once } from '@lameduck/test-utils';

test('Fastify over HTTP/2: readiness flips, the stream in flight completes, GOAWAY refuses new streams', async () => {
  const arrived = deferred();
  const release = deferred();
  const app = Fastify({ http2: true, logger: false });
  await app.register(graceful, { handleSignals: false, silent: true, readinessDelay: 300, idleGrace: 20 });
  app.get('/slow', async () => {
    arrived.resolve();
    await release.promise;
    return 'slow done';
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const session = http2.connect(`http://127.0.0.1:${port}`);

  expect(await h2Request(session, '/readyz')).toMatchObject({ status: 200 });
  const slow = h2Request(session, '/slow');
  await arrived.promise;
  const goaway = once(session, 'goaway');
  const done = app.lameduck.shutdown();
  const readiness = await h2Request(session, '/readyz');
  expect(readiness.status).toBe(503);
  expect(readiness.headers.connection).toBeUndefined();
  await goaway;
  expect(await h2Refusal(session)).toBe('ERR_HTTP2_GOAWAY_SESSION');
  release.resolve();
  expect(await slow).toMatchObject({ status: 200, body: 'slow done' });
  expect(await done).toMatchObject({ graceful: true, forced: false });
  session.close();
  await app.close();
});
