/** What is Koa's own in @lameduck/koa (its error path, async middleware); what every adapter shares is in the conformance matrix. */
import http from 'node:http';
import Koa from 'koa';
import supertest from 'supertest';
import type { Lameduck } from '@lameduck/core';
import { graceful, type GracefulMiddleware, type GracefulOptions } from '@lameduck/koa';
import { aborted, closeServer, deferred, listen, once, request } from '@lameduck/test-utils';

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

describe('Koa', () => {
  test('the middleware finds its server through the first request; an asynchronous route is awaited, kept alive', async () => {
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

  test('the 503 keeps Connection: close and Retry-After where a later middleware would throw', async () => {
    const app = new Koa();
    app.silent = true;
    // The last stretch, where a late request gets the 503, starts 1 ms into the 65 s drain window.
    const stretch = { readinessDelay: 0, timeout: 70_000, abortBefore: 64_999 };
    const middleware = graceful({ ...QUIET, ...stretch, rejectHeaders: { 'x-instance': 'pod-1' } });
    app.use(middleware);
    app.use(() => {
      throw Object.assign(new Error('refused'), { status: 403 });
    });
    // The later middleware does throw, and Koa's error path answers without any header set before it.
    const before = await get(app, '/');
    expect(before.status).toBe(403);
    const { release } = drainHeld(middleware.lameduck);
    await aborted(middleware.lameduck.deadlineSignal);
    const late = await get(app, '/');
    expect(late.status).toBe(503);
    expect(late.headers.connection).toBe('close');
    expect(late.headers['retry-after']).toBe('5');
    expect(late.headers['x-instance']).toBe('pod-1');
    expect(late.body).toEqual({ status: 'shutting down', reason: 'deploy' });
    await release();
  });
});

describe('options', () => {
  // Every case is tested once, in core (resolveManager): here, that graceful() hands its options to it.
  test('a bad option is refused at once: TypeError LAMEDUCK_INVALID_OPTION naming it', () => {
    expect(() => graceful({ ...QUIET, timeout: 'x' } as unknown as GracefulOptions)).toThrow(
      expect.objectContaining({ name: 'TypeError', code: 'LAMEDUCK_INVALID_OPTION', option: 'timeout' }),
    );
  });
});
