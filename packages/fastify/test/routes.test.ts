/** Fastify conventions: probes as real routes (printRoutes, prefix, logLevel), fastify.log.child as the default logger, the peer range. */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { createLameduck } from '@lameduck/core';
import graceful from '@lameduck/fastify';
import { request } from '@lameduck/test-utils';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
});

/** Pino's JSON lines, as a Fastify logger writes them. */
function logLines(): { stream: Writable; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line !== '') lines.push(JSON.parse(line));
      callback();
    },
  });
  return { stream, lines };
}

async function listen(app: FastifyInstance): Promise<number> {
  apps.push(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return (app.server.address() as AddressInfo).port;
}

test('the probes are routes: printRoutes() lists them, under the prefix', async () => {
  const app = Fastify({ logger: false });
  await app.register(graceful, { handleSignals: false, silent: true, prefix: '/health' } as never);
  app.get('/', async () => 'ok');
  const port = await listen(app);
  for (const url of [
    '/health/readyz',
    '/health/readyz/:check',
    '/health/livez',
    '/health/livez/:check',
    '/health/startupz',
  ]) {
    expect([url, app.hasRoute({ method: 'GET', url })]).toEqual([url, true]);
  }
  expect(app.printRoutes()).toMatch(/health\/\n.*readyz \(GET, HEAD\)/);
  expect((await request(port, { path: '/health/startupz' })).status).toBe(200);
  expect((await request(port, { path: '/readyz' })).status).toBe(404);
});

test('the prefix of an enclosing plugin applies too', async () => {
  const app = Fastify({ logger: false });
  await app.register(
    async (api) => {
      await api.register(graceful, { handleSignals: false, silent: true });
    },
    { prefix: '/api' },
  );
  const port = await listen(app);
  expect((await request(port, { path: '/api/readyz' })).status).toBe(200);
  expect((await request(port, { path: '/api/livez/application' })).status).toBe(200);
});

test('logLevel applies to the probes: "silent" keeps them out of the request log, other routes still log', async () => {
  const { stream, lines } = logLines();
  const app = Fastify({ logger: { level: 'info', stream } });
  await app.register(graceful, { handleSignals: false, logLevel: 'silent' } as never);
  app.get('/', async () => 'ok');
  const port = await listen(app);
  await request(port, { path: '/readyz' });
  await request(port, { path: '/' });
  const urls = lines.map((line) => (line.req as { url?: string } | undefined)?.url).filter(Boolean);
  expect(urls).toEqual(['/']);
});

test('without a logger, lameduck logs through fastify.log.child({ plugin: "lameduck" })', async () => {
  const { stream, lines } = logLines();
  const app = Fastify({ logger: { level: 'info', stream } });
  await app.register(graceful, { handleSignals: false, readinessDelay: 0 });
  await listen(app);
  await app.lameduck.shutdown('test');
  const started = lines.find((line) => line.msg === 'shutdown started: readiness fails now');
  expect(started).toMatchObject({ plugin: 'lameduck', reason: 'test', level: 30 });
});

test('Fastify without a logger (its default): lameduck writes its own JSON lines', async () => {
  const app = Fastify();
  await app.register(graceful, { handleSignals: false });
  apps.push(app);
  expect(app.lameduck.options.logger).toBeUndefined();
  const withLogger = Fastify({ logger: { level: 'silent' } });
  await withLogger.register(graceful, { handleSignals: false });
  apps.push(withLogger);
  expect(withLogger.lameduck.options.logger).toBeDefined();
});

test('a shared manager keeps its own paths; a prefix next to it is refused', async () => {
  const lameduck = createLameduck({ silent: true });
  const app = Fastify({ logger: false });
  apps.push(app);
  await expect(
    app.register(graceful, { lameduck, handleSignals: false, prefix: '/api' } as never).ready(),
  ).rejects.toMatchObject({ code: 'LAMEDUCK_INVALID_OPTION', option: 'prefix' });
});

test('the peer range and the plugin metadata say what the conformance suite proves: Fastify 5.8 and later', () => {
  const manifest = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as {
    peerDependencies: Record<string, string>;
  };
  expect(manifest.peerDependencies.fastify).toBe('^5.8.5');
  const meta = (graceful as unknown as Record<symbol, { fastify: string }>)[Symbol.for('plugin-meta')];
  expect(meta?.fastify).toBe('^5.8.5');
});
