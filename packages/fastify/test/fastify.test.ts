/**
 * What is Fastify's own in @lameduck/fastify, over real sockets: the plugin and its decorator, register()
 * errors, Fastify's error path and return503OnClosing, and fastify.close() / lameduck.shutdown() with
 * requests in flight on every supported Fastify 5 version. What every adapter shares is in the
 * conformance matrix (packages/conformance/test/adapters.ts).
 *
 * Not app.inject(): under Jest on Node 20 it cannot load light-my-request's dependency cookie@2,
 * which is ESM-only ("Must use import to load ES Module"). Real sockets are what matter here anyway.
 */
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { createLameduck, type Lameduck, type LameduckState } from '@lameduck/core';
import graceful, { type GracefulOptions } from '@lameduck/fastify';
import { aborted, deferred, once, request, type Deferred } from '@lameduck/test-utils';

const QUIET = { handleSignals: false, silent: true } as const;
const AUTH = { authorization: 'yes' };

/** The older Fastify 5 releases, installed under aliases in the conformance package. */
const fromConformance = createRequire(join(__dirname, '..', '..', 'conformance', 'package.json'));
const VERSIONS = ['fastify', 'fastify-5.11', 'fastify-5.10', 'fastify-5.8'] as const;
type Version = (typeof VERSIONS)[number];
const factory = (version: Version): typeof Fastify =>
  version === 'fastify' ? Fastify : (fromConformance(version) as typeof Fastify);

interface Started {
  app: FastifyInstance;
  port: number;
  /** `/slow` resolves this when it starts and answers `slow done` once `release` resolves. */
  arrived: Deferred<void>;
  release: Deferred<void>;
  /** Paths that reached a route handler. */
  hits: string[];
}

const apps: FastifyInstance[] = [];
const agents: http.Agent[] = [];
const releases: Deferred<void>[] = [];
afterEach(async () => {
  for (const release of releases.splice(0)) release.resolve();
  for (const agent of agents.splice(0)) agent.destroy();
  for (const app of apps.splice(0)) {
    app.server.closeAllConnections();
    await app.close();
  }
});

function keepAlive(): http.Agent {
  const agent = new http.Agent({ keepAlive: true });
  agents.push(agent);
  return agent;
}

/** A Fastify app built the way users would: the plugin first, then auth (401 unless `authorization: yes`), then routes. */
async function start(
  options: GracefulOptions = {},
  {
    version = 'fastify',
    fastify = {},
    setup,
  }: {
    version?: Version;
    fastify?: FastifyServerOptions;
    /** Runs before listen(), when hooks can still be added. */
    setup?: (app: FastifyInstance) => void;
  } = {},
): Promise<Started> {
  const app = factory(version)({ logger: false, ...fastify });
  apps.push(app);
  const arrived = deferred();
  const release = deferred();
  releases.push(release);
  const hits: string[] = [];
  await app.register(graceful, options.lameduck ? { handleSignals: false, ...options } : { ...QUIET, ...options });
  app.addHook('onRequest', async (req, reply) => {
    if (req.headers.authorization !== 'yes') return reply.code(401).send('authorization required');
  });
  app.get('/', async (req) => {
    hits.push(req.url);
    return 'ok';
  });
  app.get('/slow', async (req) => {
    hits.push(req.url);
    arrived.resolve();
    await release.promise;
    return 'slow done';
  });
  app.get('/boom', async () => {
    throw new Error('boom');
  });
  setup?.(app);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, port: (app.server.address() as AddressInfo).port, arrived, release, hits };
}

/** Resolves when the manager reaches `wanted` (at once if it is there). */
function reached(lameduck: Lameduck, wanted: LameduckState): Promise<void> {
  if (lameduck.state === wanted) return Promise.resolve();
  return new Promise((resolve) => {
    const off = lameduck.onStateChange((state) => {
      if (state !== wanted) return;
      off();
      resolve();
    });
  });
}

describe('the plugin', () => {
  test('decorates the instance with its manager, attached to the server at register (before listen)', async () => {
    const app = Fastify({ logger: false });
    apps.push(app);
    await app.register(graceful, QUIET);
    expect(app.hasDecorator('lameduck')).toBe(true);
    expect(typeof app.lameduck.shutdown).toBe('function');
    expect(typeof app.lameduck.intercept).toBe('function');
    expect(app.lameduck.stats()).toMatchObject({ state: 'serving', servers: 1 });
    expect(app.lameduck.options).toMatchObject({ silent: true });
  });

  test('Fastify’s own register options (prefix, logLevel) are honoured, not refused: the probes move under the prefix', async () => {
    // Passed on to createLameduck(), they would be refused as unknown options.
    const { port, app } = await start({ prefix: '/api', logLevel: 'warn' } as GracefulOptions);
    expect((await request(port, { path: '/api/readyz' })).status).toBe(200);
    expect((await request(port, { path: '/readyz' })).status).toBe(401);
    expect(app.lameduck.options).toMatchObject({ readinessPath: '/api/readyz', livenessPath: '/api/livez' });
  });

  test('the caller’s options are not mutated (a frozen object is fine)', async () => {
    const options = Object.freeze({ ...QUIET, timeout: 20_000, prefix: '/api' });
    const { app } = await start(options as GracefulOptions);
    expect(options).toEqual({ ...QUIET, timeout: 20_000, prefix: '/api' });
    expect(app.lameduck.options.timeout).toBe(20_000);
  });

  // A callback plugin that threw here would escape avvio as an uncaught exception, and register()
  // would reject only at pluginTimeout (10 s) with FST_ERR_PLUGIN_TIMEOUT: errors go to done().
  test.each<[string, unknown, string]>([
    ['a duration that is not a number', { ...QUIET, timeout: 'x' }, 'timeout'],
    ['a mistyped option name', { ...QUIET, timout: 1_000 }, 'timout'],
    ['handleSignals that is neither a boolean nor options', { silent: true, handleSignals: 'yes' }, 'handleSignals'],
    ['a lameduck that is not a manager', { handleSignals: false, lameduck: {} }, 'lameduck'],
    [
      'core options next to a shared manager',
      { handleSignals: false, lameduck: createLameduck({ silent: true }), timeout: 1 },
      'timeout',
    ],
  ])('%s is refused by register(): LAMEDUCK_INVALID_OPTION, at once', async (_, options, option) => {
    const app = Fastify({ logger: false });
    apps.push(app);
    const done = jest.fn();
    expect(() => graceful(app, options as GracefulOptions, done)).not.toThrow();
    expect(done).toHaveBeenCalledWith(
      expect.objectContaining({ name: 'TypeError', code: 'LAMEDUCK_INVALID_OPTION', option }),
    );
    const other = Fastify({ logger: false });
    apps.push(other);
    await expect(other.register(graceful, options as GracefulOptions)).rejects.toMatchObject({
      code: 'LAMEDUCK_INVALID_OPTION',
      option,
    });
  });
});

describe('Fastify’s own paths', () => {
  test('during the readiness delay, an error response carries Connection: close too', async () => {
    const { app, port } = await start({ readinessDelay: 1_000 });
    const agent = keepAlive();
    const before = await request(port, { path: '/boom', agent, headers: AUTH });
    expect(before.status).toBe(500);
    expect(before.headers.connection).toBe('keep-alive');
    const done = app.lameduck.shutdown('SIGTERM');
    const failed = await request(port, { path: '/boom', agent, headers: AUTH });
    expect(failed.status).toBe(500);
    expect(failed.headers.connection).toBe('close');
    const served = await request(port, { agent: keepAlive(), headers: AUTH });
    expect(served).toMatchObject({ status: 200, body: 'ok' });
    expect(served.headers.connection).toBe('close');
    expect(await done).toMatchObject({ graceful: true });
  });

  test('with return503OnClosing: false, a request arriving during app.close() is served, its response closing the connection', async () => {
    const { app, port, arrived, release } = await start(
      { idleGrace: 60_000, timeout: 70_000 },
      { fastify: { return503OnClosing: false } },
    );
    const kept = keepAlive();
    await request(port, { agent: kept, headers: AUTH });
    const slow = request(port, { path: '/slow', agent: keepAlive(), headers: AUTH });
    await arrived.promise;
    const draining = reached(app.lameduck, 'draining');
    const closing = app.close();
    await draining;
    const late = await request(port, { agent: kept, headers: AUTH });
    expect(late).toMatchObject({ status: 200, headers: { connection: 'close' } });
    expect(late.headers['retry-after']).toBeUndefined();
    release.resolve();
    expect((await slow).status).toBe(200);
    await closing;
    expect(app.lameduck.stats().requests).toMatchObject({ rejected: 0 });
  });

  test('with return503OnClosing: false, a request arriving in the last stretch of app.close() gets lameduck’s 503, Retry-After included', async () => {
    // The last stretch starts 1 ms into the 65 s drain window.
    const { app, port, arrived, release } = await start(
      { readinessDelay: 0, idleGrace: 60_000, timeout: 70_000, abortBefore: 64_999 },
      { fastify: { return503OnClosing: false } },
    );
    const kept = keepAlive();
    await request(port, { agent: kept, headers: AUTH });
    const slow = request(port, { path: '/slow', agent: keepAlive(), headers: AUTH });
    await arrived.promise;
    const draining = reached(app.lameduck, 'draining');
    const closing = app.close();
    await draining;
    await aborted(app.lameduck.deadlineSignal);
    const late = await request(port, { agent: kept, headers: AUTH });
    expect(late.status).toBe(503);
    expect(late.headers['retry-after']).toBe('5');
    expect(JSON.parse(late.body)).toEqual({ status: 'shutting down', reason: 'fastify.close()' });
    release.resolve();
    expect((await slow).status).toBe(200);
    await closing;
  });
});

describe.each(VERSIONS)('%s: closing over real sockets', (version) => {
  /** Records the app's onClose hooks and the manager's end, in the order they happen. */
  function tracked(order: string[]) {
    return (app: FastifyInstance) => {
      app.addHook('onClose', async () => {
        order.push('app onClose');
      });
      app.lameduck.onStateChange((state) => {
        if (state === 'closed') order.push('lameduck closed');
      });
    };
  }

  test('app.close() with a request in flight and an idle keep-alive socket: lameduck closes the idle one, the request completes', async () => {
    // Fastify's keepAliveTimeout is left at its default of 72 s and lameduck's deadline is 120 s,
    // both beyond Jest's 30 s: this can only pass if lameduck closes the idle socket itself.
    const order: string[] = [];
    const { app, port, arrived, release } = await start(
      { timeout: 120_000, idleGrace: 50 },
      { version, setup: tracked(order) },
    );
    let drainedAtOnce: boolean | undefined;
    app.lameduck.onStateChange((state) => {
      // With no readiness delay, the drain starts in the same tick as the shutdown.
      if (state === 'lameduck') queueMicrotask(() => (drainedAtOnce = app.lameduck.state === 'draining'));
    });

    const idle = await request(port, { agent: keepAlive(), headers: AUTH });
    expect(idle.headers.connection).toBe('keep-alive');
    const idleClosed = once(idle.socket, 'close');
    const slow = request(port, { path: '/slow', agent: keepAlive(), headers: AUTH });
    await arrived.promise;

    const closing = app.close();
    await idleClosed;
    // Closed by the drain while the request is still in flight: lameduck's preClose hook is still
    // waiting, so Fastify has not called server.close() (which would close idle sockets) yet.
    expect(app.lameduck.state).toBe('draining');
    expect(drainedAtOnce).toBe(true);
    const result = app.lameduck.shutdown();
    release.resolve();

    const reply = await slow;
    expect(reply).toMatchObject({ status: 200, body: 'slow done' });
    expect(reply.headers.connection).toBe('close');
    expect(await result).toMatchObject({
      reason: 'fastify.close()',
      graceful: true,
      forced: false,
      destroyedConnections: 0,
      hookFailures: [],
    });
    await closing;
    expect(order).toEqual(['app onClose', 'lameduck closed']);
    expect(app.server.listening).toBe(false);
  });

  // Before: Fastify's close() waited for its server's close event, which Node emits once every socket is
  // destroyed, so the idle sockets were destroyed from JavaScript, 256 per turn, before the onClose hooks
  // (and the process's exit) could run: hundreds of ms with 10,000 of them.
  test('with 2,000 idle keep-alive sockets, the onClose hooks run without waiting for each one to be destroyed; all still close', async () => {
    const sockets: Socket[] = [];
    let openAtOnClose: number | undefined;
    const { app, port } = await start(
      { readinessDelay: 0, idleGrace: 0, timeout: 120_000 },
      {
        version,
        setup: (fastify) => {
          fastify.server.on('connection', (socket: Socket) => sockets.push(socket));
          fastify.addHook('onClose', async () => {
            openAtOnClose = sockets.filter((socket) => !socket.destroyed).length;
          });
        },
      },
    );
    const agent = new http.Agent({ keepAlive: true, maxFreeSockets: Infinity });
    agents.push(agent);
    const replies = await Promise.all(Array.from({ length: 2_000 }, () => request(port, { agent, headers: AUTH })));
    const clientSockets = new Set(replies.map((reply) => reply.socket));
    const allClosed = Promise.all([...clientSockets].map((socket) => once(socket, 'close')));

    const result = await app.lameduck.shutdown('SIGTERM');
    expect(result).toMatchObject({ graceful: true, forced: false, destroyedConnections: 0 });
    expect({ sockets: sockets.length, idle: clientSockets.size }).toEqual({ sockets: 2_000, idle: 2_000 });
    // Fastify 5.10 and 5.11 destroy every connection themselves in close() (closeAllConnections).
    if (version === 'fastify-5.10' || version === 'fastify-5.11') expect(openAtOnClose).toBe(0);
    else expect(openAtOnClose).toBeGreaterThan(0);
    // Still closed by lameduck (in batches), with no process exit to do it.
    await allClosed;
  });

  test('app.lameduck.shutdown() (the signal path) drains, then closes Fastify: its onClose hooks run before the result', async () => {
    const order: string[] = [];
    const { app, port, arrived, release } = await start(
      { readinessDelay: 0, timeout: 120_000, idleGrace: 50 },
      { version, setup: tracked(order) },
    );
    const idle = await request(port, { agent: keepAlive(), headers: AUTH });
    const idleClosed = once(idle.socket, 'close');
    const slow = request(port, { path: '/slow', agent: keepAlive(), headers: AUTH });
    await arrived.promise;

    const done = app.lameduck.shutdown('SIGTERM');
    await idleClosed;
    expect(order).toEqual([]);
    release.resolve();
    const reply = await slow;
    expect(reply).toMatchObject({ status: 200, body: 'slow done' });
    expect(reply.headers.connection).toBe('close');

    const result = await done;
    expect(order).toEqual(['app onClose', 'lameduck closed']);
    expect(result).toMatchObject({
      reason: 'SIGTERM',
      graceful: true,
      forced: false,
      exitCode: 0,
      destroyedConnections: 0,
      hookFailures: [],
    });
    expect(app.server.listening).toBe(false);
    // Fastify is closed: closing it again is a no-op that resolves.
    await app.close();
    expect(order).toEqual(['app onClose', 'lameduck closed']);
  });
});
