/**
 * The adapter matrix: what every adapter shares (probes, the 503 and its options, a shared manager,
 * options handling), over real sockets, for every framework and version. An adapter's own test file
 * keeps only what is specific to its framework.
 */
import http from 'node:http';
import { createLameduck, type AdapterOptions, type Lameduck, type ShutdownResult } from '@lameduck/core';
import { deferred, request, type Reply } from '@lameduck/test-utils';
import { APP_READINESS, startApp, type AdapterKind, type App, type AppShape } from './apps.js';
import { LAST_STRETCH, lastStretch } from './last-stretch.js';

const QUIET = { handleSignals: false, silent: true } as const;
const AUTH = { authorization: 'yes' };
/** Kept-alive sockets stay open through a held drain; every one is used once after it starts, then closes. */
const HELD = { idleGrace: 60_000, timeout: 70_000 } as const;
const SIGNAL_EVENTS = ['SIGTERM', 'SIGINT', 'uncaughtException', 'unhandledRejection'] as const;

export function adapterMatrix(kind: AdapterKind): void {
  describe(`${kind}: what every adapter shares`, () => {
    const apps: App[] = [];
    const agents: http.Agent[] = [];
    const holds: (() => void)[] = [];
    afterEach(async () => {
      for (const release of holds.splice(0)) release();
      for (const agent of agents.splice(0)) agent.destroy();
      for (const app of apps.splice(0)) await app.close();
    });

    /** An app; a shared manager takes no core options, `silent` included. */
    async function start(options: AdapterOptions = {}, shape?: AppShape): Promise<App> {
      const app = await startApp(
        kind,
        options.lameduck ? { handleSignals: false, ...options } : { ...QUIET, ...options },
        shape,
      );
      apps.push(app);
      return app;
    }

    function keepAlive(): http.Agent {
      const agent = new http.Agent({ keepAlive: true });
      agents.push(agent);
      return agent;
    }

    /** `count` keep-alive agents, each with a connection opened by an authorized `GET /` (which attaches the server). */
    async function kept(app: App, count: number): Promise<http.Agent[]> {
      const opened = Array.from({ length: count }, keepAlive);
      for (const agent of opened) await request(app.port, { agent, headers: AUTH });
      app.hits.length = 0;
      return opened;
    }

    /** Starts a shutdown (no readiness delay) and holds it in `draining` until `release()`. */
    function drainHeld(lameduck: Lameduck): { release: () => Promise<ShutdownResult> } {
      const hold = deferred();
      holds.push(hold.resolve);
      void lameduck.addTask(hold.promise);
      const done = lameduck.shutdown('deploy', { readinessDelay: 0 });
      expect(lameduck.state).toBe('draining');
      return {
        release: () => {
          hold.resolve();
          return done;
        },
      };
    }

    const json = (reply: Reply): unknown => JSON.parse(reply.body);

    describe('probes', () => {
      test('GET and HEAD /readyz and /livez answer JSON with no-store, ahead of an auth layer that refuses everything', async () => {
        const { port } = await start();
        expect((await request(port, { path: '/' })).status).toBe(401);

        const ready = await request(port, { path: '/readyz', agent: keepAlive() });
        expect(ready.status).toBe(200);
        expect(json(ready)).toEqual({ status: 'ready' });
        expect(ready.headers['content-type']).toBe('application/json; charset=utf-8');
        expect(ready.headers['cache-control']).toBe('no-store');
        expect(ready.headers.connection).toBe('keep-alive');

        const live = await request(port, { path: '/livez' });
        expect(live.status).toBe(200);
        expect(json(live)).toEqual({ status: 'alive', state: 'serving' });
        expect(live.headers['cache-control']).toBe('no-store');

        for (const path of ['/readyz', '/livez']) {
          const head = await request(port, { path, method: 'HEAD' });
          expect(head).toMatchObject({ status: 200, body: '' });
          expect(head.headers['content-type']).toBe('application/json; charset=utf-8');
          expect(head.headers['cache-control']).toBe('no-store');
        }
      });

      test('a query string still matches; a longer path or another method is the app’s', async () => {
        const { port } = await start();
        const query = await request(port, { path: '/readyz?probe=kubelet' });
        expect(query.status).toBe(200);
        expect(json(query)).toEqual({ status: 'ready' });
        expect((await request(port, { path: '/readyzz' })).status).toBe(401);
        expect((await request(port, { path: '/readyz', method: 'POST' })).status).toBe(401);
        const posted = await request(port, { path: '/readyz', method: 'POST', headers: AUTH });
        expect(posted).toMatchObject({ status: 200, body: 'posted' });
      });

      test('custom paths are served, and the default ones are left to the app', async () => {
        const { port } = await start({ readinessPath: '/health/ready', livenessPath: '/health/live' });
        const ready = await request(port, { path: '/health/ready' });
        expect(ready.status).toBe(200);
        expect(json(ready)).toEqual({ status: 'ready' });
        const live = await request(port, { path: '/health/live' });
        expect(live.status).toBe(200);
        expect(json(live)).toEqual({ status: 'alive', state: 'serving' });
        expect((await request(port, { path: '/readyz' })).status).toBe(401);
        expect((await request(port, { path: '/livez' })).status).toBe(401);
      });

      test('false disables a probe: the request falls through to the app’s own route, or its 404', async () => {
        const { port } = await start({ readinessPath: false, livenessPath: false }, { auth: false });
        expect(await request(port, { path: '/readyz' })).toMatchObject({ status: 200, body: APP_READINESS });
        expect((await request(port, { path: '/livez' })).status).toBe(404);
      });

      test('readiness checks run on every probe: one failing makes /readyz 503; liveness is unaffected', async () => {
        let up = true;
        const signals: AbortSignal[] = [];
        const { port } = await start({
          checks: {
            db: (signal) => {
              signals.push(signal);
              return up;
            },
          },
        });
        const ready = await request(port, { path: '/readyz' });
        expect(ready.status).toBe(200);
        expect(json(ready)).toEqual({ status: 'ready', checks: { db: { status: 'ok' } } });
        expect(signals[0]).toBeInstanceOf(AbortSignal);

        up = false;
        const unready = await request(port, { path: '/readyz' });
        expect(unready.status).toBe(503);
        expect(json(unready)).toEqual({ status: 'not ready', checks: { db: { status: 'failed' } } });
        expect(unready.headers['cache-control']).toBe('no-store');
        expect((await request(port, { path: '/livez' })).status).toBe(200);
        expect(signals).toHaveLength(2);
      });

      test('a throwing check is a 503 too, with its message only when exposeErrors is on', async () => {
        const { port } = await start({
          exposeErrors: true,
          checks: {
            cache: async () => {
              throw new Error('cache unreachable');
            },
          },
        });
        const unready = await request(port, { path: '/readyz' });
        expect(unready.status).toBe(503);
        expect(json(unready)).toEqual({
          status: 'not ready',
          checks: { cache: { status: 'failed', error: 'cache unreachable' } },
        });
      });
    });

    describe('application traffic', () => {
      test('app routes work untouched: answered by the app, kept alive, no Retry-After', async () => {
        const { port, hits } = await start();
        const reply = await request(port, { agent: keepAlive(), headers: AUTH });
        expect(reply).toMatchObject({ status: 200, body: 'ok' });
        expect(reply.headers.connection).toBe('keep-alive');
        expect(reply.headers['retry-after']).toBeUndefined();
        expect(hits).toEqual(['/']);
      });

      test('during the readiness delay: readiness 503 at once, liveness 200, requests still served with Connection: close', async () => {
        const { port, lameduck, hits } = await start({ readinessDelay: 1_000 });
        const done = lameduck.shutdown('SIGTERM');
        expect(lameduck.state).toBe('lameduck');
        const unready = await request(port, { path: '/readyz' });
        expect(unready.status).toBe(503);
        expect(json(unready)).toEqual({ status: 'shutting down', reason: 'SIGTERM', state: 'lameduck' });
        expect(json(await request(port, { path: '/livez' }))).toEqual({ status: 'alive', state: 'lameduck' });
        const served = await request(port, { agent: keepAlive(), headers: AUTH });
        expect(served).toMatchObject({ status: 200, body: 'ok' });
        expect(served.headers.connection).toBe('close');
        expect(hits).toEqual(['/']);
        expect(await done).toMatchObject({ graceful: true, requests: { rejected: 0 } });
      });

      test('once draining, with time left: a request on a kept connection reaches the app, and its response closes the connection', async () => {
        const app = await start(HELD);
        const [late, unauthorized, ready] = await kept(app, 3);
        const { release } = drainHeld(app.lameduck);
        const reply = await request(app.port, { agent: late, headers: AUTH });
        expect(reply).toMatchObject({ status: 200, body: 'ok' });
        expect(reply.headers.connection).toBe('close');
        expect(reply.headers['retry-after']).toBeUndefined();
        // The application's own layers run as they would for any request.
        const refused = await request(app.port, { agent: unauthorized });
        expect(refused.status).toBe(401);
        expect(refused.headers.connection).toBe('close');
        expect(app.hits).toEqual(['/']);
        expect((await request(app.port, { agent: ready, path: '/readyz' })).status).toBe(503);
        expect(await release()).toMatchObject({ graceful: true, requests: { rejected: 0 } });
      });

      test('in the last stretch: 503 with Connection: close, Retry-After and the default body; the app never runs', async () => {
        const app = await start(LAST_STRETCH);
        const [late, unauthorized, elsewhere, ready, live] = await kept(app, 5);
        const { release } = drainHeld(app.lameduck);
        await lastStretch(app.lameduck);
        const reply = await request(app.port, { agent: late, headers: AUTH });
        expect(reply.status).toBe(503);
        expect(reply.headers.connection).toBe('close');
        expect(reply.headers['retry-after']).toBe('5');
        expect(reply.headers['cache-control']).toBe('no-store');
        expect(reply.headers['content-type']).toBe('application/json; charset=utf-8');
        expect(json(reply)).toEqual({ status: 'shutting down', reason: 'deploy' });
        // Refused before auth too: a draining server answers 503, not 401, on a route or off them.
        expect((await request(app.port, { agent: unauthorized })).status).toBe(503);
        expect((await request(app.port, { agent: elsewhere, path: '/anything' })).status).toBe(503);
        expect(app.hits).toEqual([]);
        // Probes still answer while draining.
        expect((await request(app.port, { agent: ready, path: '/readyz' })).status).toBe(503);
        expect(json(await request(app.port, { agent: live, path: '/livez' }))).toEqual({
          status: 'alive',
          state: 'draining',
        });
        expect(await release()).toMatchObject({ graceful: true, requests: { rejected: 3 } });
      });

      test('the 503 takes the custom rejectBody and rejectHeaders; Connection: close stays', async () => {
        const app = await start({
          ...LAST_STRETCH,
          retryAfter: 7,
          rejectBody: 'come back later',
          rejectHeaders: { 'X-Instance': 'pod-1' },
        });
        const [agent] = await kept(app, 1);
        const { release } = drainHeld(app.lameduck);
        await lastStretch(app.lameduck);
        const late = await request(app.port, { agent });
        expect(late).toMatchObject({ status: 503, body: 'come back later' });
        expect(late.headers['content-type']).toBe('text/plain; charset=utf-8');
        expect(late.headers['x-instance']).toBe('pod-1');
        expect(late.headers['retry-after']).toBe('7');
        expect(late.headers.connection).toBe('close');
        await release();
      });

      test('an object rejectBody is sent as JSON, and rejectHeaders can replace Retry-After', async () => {
        const app = await start({
          ...LAST_STRETCH,
          rejectBody: { error: 'maintenance' },
          rejectHeaders: { 'retry-after': '120' },
        });
        const [agent] = await kept(app, 1);
        const { release } = drainHeld(app.lameduck);
        await lastStretch(app.lameduck);
        const late = await request(app.port, { agent });
        expect(late.status).toBe(503);
        expect(json(late)).toEqual({ error: 'maintenance' });
        expect(late.headers['content-type']).toBe('application/json; charset=utf-8');
        expect(late.headers['retry-after']).toBe('120');
        await release();
      });

      test('rejectHeaders replace Retry-After whatever their case; Connection: close stays', async () => {
        const app = await start({
          ...LAST_STRETCH,
          rejectBody: 'come back later',
          rejectHeaders: { 'X-Instance': 'pod-1', 'Retry-After': '120' },
        });
        const [agent] = await kept(app, 1);
        const { release } = drainHeld(app.lameduck);
        await lastStretch(app.lameduck);
        const late = await request(app.port, { agent, headers: AUTH });
        expect(late).toMatchObject({ status: 503, body: 'come back later' });
        expect(late.headers['content-type']).toBe('text/plain; charset=utf-8');
        expect(late.headers['x-instance']).toBe('pod-1');
        expect(late.headers['retry-after']).toBe('120');
        expect(late.headers.connection).toBe('close');
        await release();
      });
    });

    describe('a shared manager', () => {
      test('{ lameduck } is used as is: the same object, one shutdown for every app', async () => {
        const shared = createLameduck({ silent: true, ...LAST_STRETCH });
        const first = await start({ lameduck: shared });
        const second = await start({ lameduck: shared });
        expect(first.lameduck).toBe(shared);
        expect(second.lameduck).toBe(shared);
        const [firstAgent] = await kept(first, 1);
        const [secondAgent] = await kept(second, 1);
        const { release } = drainHeld(shared);
        await lastStretch(shared);
        expect((await request(first.port, { agent: firstAgent })).status).toBe(503);
        expect((await request(second.port, { agent: secondAgent })).status).toBe(503);
        expect(await release()).toMatchObject({ requests: { rejected: 2 } });
      });
    });

    describe('options', () => {
      // Every case is tested once, in core (resolveManager): here, that the adapter hands its options to it.
      test('a bad option is refused: TypeError LAMEDUCK_INVALID_OPTION naming it', async () => {
        await expect(start({ timeout: 'x' } as unknown as AdapterOptions)).rejects.toMatchObject({
          name: 'TypeError',
          code: 'LAMEDUCK_INVALID_OPTION',
          option: 'timeout',
        });
      });

      test('by default it installs the signal handler: one SIGTERM and one SIGINT listener, no error listener', async () => {
        const count = () => SIGNAL_EVENTS.map((event) => process.listenerCount(event));
        const [term, int, exception, rejection] = count();
        const app = await startApp(kind, { silent: true });
        apps.push(app);
        try {
          expect(count()).toEqual([term! + 1, int! + 1, exception, rejection]);
        } finally {
          // The handle it installed: uninstalled before anything can send a signal, and before the app
          // closes (the handler would exit the process after the shutdown).
          app.lameduck.handleSignals().uninstall();
        }
        expect(count()).toEqual([term, int, exception, rejection]);
      });
    });
  });
}
