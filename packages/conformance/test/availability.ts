/** Conformance: startup gating, broken liveness, `?verbose` and per-check routes, the same on every server kind. */
import type { LameduckOptions } from '@lameduck/core';
import { deferred, request } from '@lameduck/test-utils';
import { start, type Kind, type Running } from './servers.js';

export function availability(kind: Kind): void {
  describe(`${kind}: availability`, () => {
    let running: Running | undefined;
    async function server(options: LameduckOptions): Promise<Running> {
      running = await start(kind, { silent: true, readinessDelay: 0, ...options }, { slow: () => Promise.resolve() });
      return running;
    }
    afterEach(async () => {
      if (running !== undefined && running.lameduck.state === 'serving') await running.lameduck.shutdown();
      await running?.close();
      running = undefined;
    });
    const json = async (port: number, path: string) => {
      const reply = await request(port, { path });
      return { status: reply.status, body: JSON.parse(reply.body) as unknown };
    };

    test('startup gating: readiness and /startupz answer 503 "starting" until startup work is done; probes pass auth', async () => {
      const { port, lameduck } = await server({});
      const warmUp = deferred();
      const task = lameduck.addStartupTask(warmUp.promise);
      expect(await json(port, '/readyz')).toEqual({ status: 503, body: { status: 'starting' } });
      expect(await json(port, '/startupz')).toEqual({ status: 503, body: { status: 'starting' } });
      expect((await request(port, { path: '/livez' })).status).toBe(200);
      expect((await request(port, { method: 'HEAD', path: '/startupz' })).status).toBe(503);
      warmUp.resolve();
      await task;
      expect(await json(port, '/startupz')).toEqual({ status: 200, body: { status: 'started' } });
      expect(await json(port, '/readyz')).toEqual({ status: 200, body: { status: 'ready' } });
    });

    test('awaitStartup: ready once markStarted() is called', async () => {
      const { port, lameduck } = await server({ awaitStartup: true });
      expect((await request(port, { path: '/readyz' })).status).toBe(503);
      lameduck.markStarted();
      expect((await request(port, { path: '/readyz' })).status).toBe(200);
    });

    test('broken liveness: markBroken() answers 503 until markHealthy(); readiness is not affected', async () => {
      const { port, lameduck } = await server({ exposeErrors: true });
      lameduck.markBroken('deadlock detected');
      expect(await json(port, '/livez')).toEqual({
        status: 503,
        body: {
          status: 'broken',
          state: 'serving',
          checks: { application: { status: 'failed', error: 'deadlock detected' } },
        },
      });
      expect((await request(port, { path: '/readyz' })).status).toBe(200);
      lameduck.markHealthy();
      expect((await request(port, { path: '/livez' })).status).toBe(200);
    });

    test('?verbose answers the plain-text list; per-check routes and ?exclude= answer one check or the rest', async () => {
      const { port } = await server({
        checks: {
          db: () => true,
          cache: () => false,
        },
      });
      const verbose = await request(port, { path: '/readyz?verbose' });
      expect(verbose.status).toBe(503);
      expect(verbose.headers['content-type']).toMatch(/^text\/plain/);
      expect(verbose.body).toBe(
        '[+]startup ok\n[+]db ok\n[-]cache failed: reason withheld\n[+]shutdown ok\nreadiness check failed\n',
      );
      expect(await json(port, '/readyz/db')).toEqual({ status: 200, body: { status: 'ok' } });
      expect(await json(port, '/readyz/cache')).toEqual({ status: 503, body: { status: 'failed' } });
      expect(await json(port, '/readyz/missing')).toEqual({
        status: 404,
        body: { status: 'not found', check: 'missing' },
      });
      expect((await request(port, { path: '/readyz?exclude=cache' })).status).toBe(200);
      expect(await request(port, { path: '/livez?verbose' })).toMatchObject({
        status: 200,
        body: '[+]application ok\nliveness check passed\n',
      });
    });
  });
}
