/** @lameduck/koa in-process through supertest: probes, 503 while draining, Koa's error path, options, signals. */
import http from 'node:http';
import Koa from 'koa';
import supertest from 'supertest';
import { createLameduck, type Lameduck } from '@lameduck/core';
import { graceful, type GracefulMiddleware, type GracefulOptions } from '@lameduck/koa';
import { closeServer, deferred, listen, once, request } from '@lameduck/test-utils';

const QUIET = { handleSignals: false, silent: true } as const;

/** Yields to the event loop once, so that a route answers asynchronously. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * An app with lameduck first, then auth that refuses everything without `authorization: yes`, then
 * routes: `/` (asynchronous), `/boom` (throws).
 */
function build(options: GracefulOptions = {}): { app: Koa; middleware: GracefulMiddleware; hits: string[] } {
  const app = new Koa();
  app.silent = true;
  // A shared manager takes no core options here, `silent` included.
  const middleware = graceful(options.lameduck ? { handleSignals: false, ...options } : { ...QUIET, ...options });
  const hits: string[] = [];
  app.use(middleware);
  app.use(async (ctx, next) => {
    if (ctx.get('authorization') !== 'yes') {
      ctx.status = 401;
      ctx.body = 'authorization required';
      return;
    }
    await next();
  });
  app.use(async (ctx) => {
    hits.push(ctx.url);
    if (ctx.path === '/boom') throw new Error('boom');
    await tick();
    ctx.body = 'ok';
  });
  return { app, middleware, hits };
}

/**
 * supertest sends `Connection: close` by default, so every answer would echo it; asking for
 * keep-alive makes the server's own `Connection: close` observable.
 */
function get(app: Koa, path: string, method: 'get' | 'head' | 'post' = 'get') {
  return supertest(app.callback())[method](path).set('Connection', 'keep-alive').set('Authorization', 'no');
}

const held: (() => void)[] = [];
const servers: http.Server[] = [];
const agents: http.Agent[] = [];
afterEach(async () => {
  for (const release of held.splice(0)) release();
  for (const agent of agents.splice(0)) agent.destroy();
  await Promise.all(servers.splice(0).map((server) => closeServer(server)));
});

/** Where sockets matter: the app on a real server, port 0, with a keep-alive timeout beyond the test's. */
async function serve(app: Koa): Promise<number> {
  const server = http.createServer(app.callback());
  server.keepAliveTimeout = 120_000;
  servers.push(server);
  return listen(server);
}

function keepAlive(): http.Agent {
  const agent = new http.Agent({ keepAlive: true });
  agents.push(agent);
  return agent;
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

describe('probes', () => {
  test('GET and HEAD /readyz and /livez answer JSON with no-store, ahead of an auth layer that refuses everything', async () => {
    const { app } = build();
    expect((await get(app, '/')).status).toBe(401);

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
    expect((await get(app, '/readyz?verbose=1')).body).toEqual({ status: 'ready' });
    expect((await get(app, '/readyzz')).status).toBe(401);
    expect((await get(app, '/readyz', 'post')).status).toBe(401);
  });

  test('custom paths are served, and the default ones are left to the app', async () => {
    const { app } = build({ readinessPath: '/health/ready', livenessPath: '/health/live' });
    expect((await get(app, '/health/ready')).body).toEqual({ status: 'ready' });
    expect((await get(app, '/health/live')).body).toEqual({ status: 'alive', state: 'serving' });
    expect((await get(app, '/readyz')).status).toBe(401);
    expect((await get(app, '/livez')).status).toBe(401);
  });

  test('false disables a probe: the request falls through to the app’s own route, or its 404', async () => {
    const app = new Koa();
    app.use(graceful({ ...QUIET, readinessPath: false, livenessPath: false }));
    app.use((ctx) => {
      if (ctx.path === '/readyz') ctx.body = 'the app’s readiness';
    });
    expect(await get(app, '/readyz')).toMatchObject({ status: 200, text: 'the app’s readiness' });
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
  test('app routes work untouched: an asynchronous route is awaited, kept alive, no Retry-After', async () => {
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

  test('an error downstream reaches Koa error handling: upstream middleware and app.on("error") see it', async () => {
    const { app } = build();
    const errors: Error[] = [];
    app.on('error', (error: Error) => errors.push(error));
    expect(await get(app, '/boom').set('Authorization', 'yes')).toMatchObject({ status: 500 });
    expect(errors.map((error) => error.message)).toEqual(['boom']);

    const wrapped = new Koa();
    wrapped.use(async (ctx, next) => {
      try {
        await next();
      } catch (error) {
        ctx.status = 500;
        ctx.body = `handled: ${(error as Error).message}`;
      }
    });
    wrapped.use(graceful(QUIET));
    wrapped.use(async () => {
      await tick();
      throw new Error('late boom');
    });
    expect(await get(wrapped, '/')).toMatchObject({ status: 500, text: 'handled: late boom' });
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

  test('during the readiness delay, a response from Koa’s error path still closes its connection', async () => {
    const { app, middleware } = build({ readinessDelay: 2_000 });
    const port = await serve(app);
    const agent = keepAlive();
    const before = await request(port, { path: '/boom', agent, headers: { authorization: 'yes' } });
    expect(before.status).toBe(500);
    expect(before.headers.connection).toBe('keep-alive');
    const done = middleware.lameduck.shutdown('SIGTERM');
    const failed = await request(port, { path: '/boom', agent, headers: { authorization: 'yes' } });
    expect(failed.status).toBe(500);
    expect(failed.socket).toBe(before.socket);
    // Koa's ctx.onerror removed every header, but shouldKeepAlive = false survives it: the server
    // closes the socket now, not when the drain reaches it after the readiness delay.
    if (!failed.socket.closed) await once(failed.socket, 'close');
    expect(middleware.lameduck.state).toBe('lameduck');
    expect(await done).toMatchObject({ graceful: true });
  });

  // Koa's ctx.onerror removes every header it finds: a Connection header set by lameduck would go,
  // and Node writes none at all once it has seen it removed. shouldKeepAlive = false survives.
  test('during the readiness delay, a response from Koa’s error path says Connection: close', async () => {
    const { app, middleware } = build({ readinessDelay: 1_000 });
    const done = middleware.lameduck.shutdown('SIGTERM');
    try {
      const failed = await get(app, '/boom').set('Authorization', 'yes');
      expect(failed.status).toBe(500);
      expect(failed.headers.connection).toBe('close');
    } finally {
      await done;
    }
  });

  test('once draining: 503 with Connection: close, Retry-After and the default body; later middleware never runs', async () => {
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
    expect((await get(app, '/readyz')).status).toBe(503);
    expect((await get(app, '/livez')).body).toEqual({ status: 'alive', state: 'draining' });
    expect(await release()).toMatchObject({ graceful: true, requests: { rejected: 2 } });
  });

  test('the 503 keeps Connection: close and Retry-After where a later middleware would throw', async () => {
    const app = new Koa();
    app.silent = true;
    const middleware = graceful({ ...QUIET, rejectHeaders: { 'x-instance': 'pod-1' } });
    app.use(middleware);
    app.use(() => {
      throw Object.assign(new Error('refused'), { status: 403 });
    });
    // The later middleware does throw, and Koa's error path answers without any header set before it.
    const before = await get(app, '/');
    expect(before.status).toBe(403);
    const { release } = drainHeld(middleware.lameduck);
    const late = await get(app, '/');
    expect(late.status).toBe(503);
    expect(late.headers.connection).toBe('close');
    expect(late.headers['retry-after']).toBe('5');
    expect(late.headers['x-instance']).toBe('pod-1');
    expect(late.body).toEqual({ status: 'shutting down', reason: 'deploy' });
    await release();
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
