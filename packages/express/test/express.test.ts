/** @lameduck/express in-process through supertest: probes, 503 while draining, options, signals, errors. */
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import supertest from 'supertest';
import { createLameduck, type Lameduck } from '@lameduck/core';
import { graceful, type GracefulMiddleware, type GracefulOptions } from '@lameduck/express';
import { deferred } from '@lameduck/test-utils';

const QUIET = { handleSignals: false, silent: true } as const;

/** An app with lameduck first, then auth that refuses everything without `authorization: yes`, then routes. */
function build(options: GracefulOptions = {}): { app: Express; middleware: GracefulMiddleware; hits: string[] } {
  const app = express();
  // A shared manager takes no core options here, `silent` included.
  const middleware = graceful(options.lameduck ? { handleSignals: false, ...options } : { ...QUIET, ...options });
  const hits: string[] = [];
  app.use(middleware);
  app.use((req, res, next) => {
    if (req.headers.authorization === 'yes') return next();
    res.status(401).send('authorization required');
  });
  app.get('/', (req, res) => {
    hits.push(req.url);
    res.send('ok');
  });
  return { app, middleware, hits };
}

/**
 * supertest sends `Connection: close` by default, so every answer would echo it; asking for
 * keep-alive makes the server's own `Connection: close` observable.
 */
function get(app: Express, path: string, method: 'get' | 'head' | 'post' = 'get') {
  return supertest(app)[method](path).set('Connection', 'keep-alive').set('Authorization', 'no');
}

/** Starts a shutdown (no readiness delay) and holds it in `draining` until `release()`. */
function drainHeld(lameduck: Lameduck) {
  const hold = deferred();
  void lameduck.addTask(hold.promise);
  const done = lameduck.shutdown('deploy', { readinessDelay: 0 });
  expect(lameduck.state).toBe('draining');
  held.push(hold.resolve);
  return {
    done,
    release: () => {
      hold.resolve();
      return done;
    },
  };
}
const held: (() => void)[] = [];
afterEach(() => {
  for (const release of held.splice(0)) release();
});

describe('probes', () => {
  test('GET and HEAD /readyz and /livez answer JSON with no-store, ahead of an auth layer that refuses everything', async () => {
    const { app } = build();
    const refused = await get(app, '/');
    expect(refused.status).toBe(401);

    const ready = await get(app, '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready' });
    expect(ready.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(ready.headers['cache-control']).toBe('no-store');
    expect(ready.headers.connection).toBe('keep-alive');

    const live = await get(app, '/livez');
    expect(live.status).toBe(200);
    expect(live.body).toEqual({ status: 'alive', state: 'serving' });
    expect(live.headers['cache-control']).toBe('no-store');

    for (const path of ['/readyz', '/livez']) {
      const head = await get(app, path, 'head');
      expect(head.status).toBe(200);
      expect(head.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(head.headers['cache-control']).toBe('no-store');
    }
  });

  test('a query string still matches; a longer path or another method is the app’s', async () => {
    const { app } = build();
    app.post('/readyz', (_req, res) => void res.send('posted'));
    expect((await get(app, '/readyz?verbose=1')).body).toEqual({ status: 'ready' });
    expect((await get(app, '/readyzz')).status).toBe(401);
    expect((await get(app, '/readyz', 'post')).status).toBe(401);
    const posted = await get(app, '/readyz', 'post').set('Authorization', 'yes');
    expect(posted).toMatchObject({ status: 200, text: 'posted' });
  });

  test('custom paths are served, and the default ones are left to the app', async () => {
    const { app } = build({ readinessPath: '/health/ready', livenessPath: '/health/live' });
    expect((await get(app, '/health/ready')).body).toEqual({ status: 'ready' });
    expect((await get(app, '/health/live')).body).toEqual({ status: 'alive', state: 'serving' });
    expect((await get(app, '/readyz')).status).toBe(401);
    expect((await get(app, '/livez')).status).toBe(401);
  });

  test('false disables a probe: the request falls through to the app’s own route, or its 404', async () => {
    const app = express();
    app.use(graceful({ ...QUIET, readinessPath: false, livenessPath: false }));
    app.get('/readyz', (_req, res) => void res.send('the app’s readiness'));
    const own = await get(app, '/readyz');
    expect(own).toMatchObject({ status: 200, text: 'the app’s readiness' });
    expect((await get(app, '/livez')).status).toBe(404);
  });

  test('readiness checks run on every probe: one failing makes /readyz 503; liveness is unaffected', async () => {
    let up = true;
    const signals: AbortSignal[] = [];
    const { app } = build({
      checks: {
        db: (signal) => {
          signals.push(signal);
          return up;
        },
      },
    });
    const ready = await get(app, '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', checks: { db: { status: 'ok' } } });
    expect(signals[0]).toBeInstanceOf(AbortSignal);

    up = false;
    const unready = await get(app, '/readyz');
    expect(unready.status).toBe(503);
    expect(unready.body).toEqual({ status: 'not ready', checks: { db: { status: 'failed' } } });
    expect(unready.headers['cache-control']).toBe('no-store');
    expect((await get(app, '/livez')).status).toBe(200);
    expect(signals).toHaveLength(2);
  });

  test('a throwing check is a 503 too, with its message only when exposeErrors is on', async () => {
    const { app } = build({
      exposeErrors: true,
      checks: {
        cache: async () => {
          throw new Error('cache unreachable');
        },
      },
    });
    const unready = await get(app, '/readyz');
    expect(unready.status).toBe(503);
    expect(unready.body).toEqual({
      status: 'not ready',
      checks: { cache: { status: 'failed', error: 'cache unreachable' } },
    });
  });
});

describe('application traffic', () => {
  test('app routes work untouched: answered by the app, kept alive, no Retry-After', async () => {
    const { app, middleware, hits } = build();
    expect(middleware.lameduck.stats().servers).toBe(0);
    const reply = await get(app, '/').set('Authorization', 'yes');
    expect(reply.status).toBe(200);
    expect(reply.text).toBe('ok');
    expect(reply.headers.connection).toBe('keep-alive');
    expect(reply.headers['retry-after']).toBeUndefined();
    expect(hits).toEqual(['/']);
    // The first request attached supertest's server: the middleware found it through the request.
    expect(middleware.lameduck.stats().servers).toBe(1);
  });

  test('during the readiness delay: readiness 503 at once, liveness 200, requests still served with Connection: close', async () => {
    const { app, middleware, hits } = build({ readinessDelay: 1_000 });
    const done = middleware.lameduck.shutdown('SIGTERM');
    expect(middleware.lameduck.state).toBe('lameduck');
    const unready = await get(app, '/readyz');
    expect(unready.status).toBe(503);
    expect(unready.body).toEqual({ status: 'shutting down', reason: 'SIGTERM', state: 'lameduck' });
    expect((await get(app, '/livez')).body).toEqual({ status: 'alive', state: 'lameduck' });
    const served = await get(app, '/').set('Authorization', 'yes');
    expect(served.status).toBe(200);
    expect(served.text).toBe('ok');
    expect(served.headers.connection).toBe('close');
    expect(hits).toEqual(['/']);
    expect(await done).toMatchObject({ graceful: true, requests: { rejected: 0 } });
  });

  test('once draining: 503 with Connection: close, Retry-After and the default body; the app never runs', async () => {
    const { app, middleware, hits } = build();
    const { release } = drainHeld(middleware.lameduck);
    const late = await get(app, '/').set('Authorization', 'yes');
    expect(late.status).toBe(503);
    expect(late.headers.connection).toBe('close');
    expect(late.headers['retry-after']).toBe('5');
    expect(late.headers['cache-control']).toBe('no-store');
    expect(late.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(late.body).toEqual({ status: 'shutting down', reason: 'deploy' });
    // Refused before auth too: a draining server answers 503, not 401.
    expect((await get(app, '/anything')).status).toBe(503);
    expect(hits).toEqual([]);
    // Probes still answer while draining.
    expect((await get(app, '/readyz')).status).toBe(503);
    expect((await get(app, '/livez')).body).toEqual({ status: 'alive', state: 'draining' });
    expect(await release()).toMatchObject({ graceful: true, requests: { rejected: 2 } });
  });

  test('the 503 takes the custom rejectBody and rejectHeaders; Connection: close stays', async () => {
    const { app, middleware } = build({
      retryAfter: 7,
      rejectBody: 'come back later',
      rejectHeaders: { 'X-Instance': 'pod-1' },
    });
    const { release } = drainHeld(middleware.lameduck);
    const late = await get(app, '/');
    expect(late.status).toBe(503);
    expect(late.text).toBe('come back later');
    expect(late.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(late.headers['x-instance']).toBe('pod-1');
    expect(late.headers['retry-after']).toBe('7');
    expect(late.headers.connection).toBe('close');
    await release();
  });

  test('an object rejectBody is sent as JSON, and rejectHeaders can replace Retry-After', async () => {
    const { app, middleware } = build({
      rejectBody: { error: 'maintenance' },
      rejectHeaders: { 'retry-after': '120' },
    });
    const { release } = drainHeld(middleware.lameduck);
    const late = await get(app, '/');
    expect(late.status).toBe(503);
    expect(late.body).toEqual({ error: 'maintenance' });
    expect(late.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(late.headers['retry-after']).toBe('120');
    await release();
  });

  test('an error in a route still reaches Express error handling: the middleware calls next()', async () => {
    const app = express();
    app.use(graceful(QUIET));
    app.get('/sync', () => {
      throw new Error('sync boom');
    });
    app.get('/async', async () => {
      throw new Error('async boom');
    });
    app.use((error: Error, _req: Request, res: Response, _next: NextFunction) => {
      res.status(500).send(`handled: ${error.message}`);
    });
    expect(await get(app, '/sync')).toMatchObject({ status: 500, text: 'handled: sync boom' });
    expect(await get(app, '/async')).toMatchObject({ status: 500, text: 'handled: async boom' });
  });
});

describe('a shared manager', () => {
  test('graceful({ lameduck }) uses it as is: the same object, one shutdown for every app', async () => {
    const shared = createLameduck({ silent: true, readinessDelay: 0 });
    const first = build({ lameduck: shared });
    const second = build({ lameduck: shared });
    expect(first.middleware.lameduck).toBe(shared);
    expect(second.middleware.lameduck).toBe(shared);
    const { release } = drainHeld(shared);
    expect((await get(first.app, '/')).status).toBe(503);
    expect((await get(second.app, '/')).status).toBe(503);
    expect(await release()).toMatchObject({ requests: { rejected: 2 } });
  });
});

describe('options', () => {
  // Every case is tested once, in core (resolveManager): here, that graceful() hands its options to it.
  test('a bad option is refused at once: TypeError LAMEDUCK_INVALID_OPTION naming it', () => {
    expect(() => graceful({ ...QUIET, timeout: 'x' } as unknown as GracefulOptions)).toThrow(
      expect.objectContaining({ name: 'TypeError', code: 'LAMEDUCK_INVALID_OPTION', option: 'timeout' }),
    );
  });

  test('by default it installs the signal handler: one SIGTERM and one SIGINT listener', () => {
    const before = [process.listenerCount('SIGTERM'), process.listenerCount('SIGINT')];
    const middleware = graceful({ silent: true });
    try {
      expect([process.listenerCount('SIGTERM'), process.listenerCount('SIGINT')]).toEqual(before.map((n) => n + 1));
    } finally {
      middleware.lameduck.handleSignals().uninstall();
    }
  });
});
