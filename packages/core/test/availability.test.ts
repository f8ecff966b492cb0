/** Startup gating, liveness that can fail, Kubernetes-style probes and background checks, over real sockets (node:http). */
import http, { type IncomingMessage } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createLameduck, type Lameduck, type LameduckOptions } from '@lameduck/core';
import { closeServer, deferred, listen, request } from '@lameduck/test-utils';

const servers: http.Server[] = [];
const managers: Lameduck[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await closeServer(server);
  for (const manager of managers.splice(0)) if (manager.state === 'serving') await manager.shutdown();
});

async function serve(options: LameduckOptions): Promise<{ port: number; lameduck: Lameduck }> {
  const lameduck = createLameduck({ silent: true, readinessDelay: 0, timeout: 5_000, ...options });
  const server = http.createServer((req, res) => {
    if (lameduck.handle(req, res)) return;
    res.end('ok');
  });
  lameduck.attach(server);
  servers.push(server);
  managers.push(lameduck);
  return { port: await listen(server), lameduck };
}

const get = (port: number, path: string) => request(port, { path });
const json = async (port: number, path: string) => {
  const reply = await get(port, path);
  return { status: reply.status, body: JSON.parse(reply.body) as unknown };
};

describe('startup gating', () => {
  test('is off by default: ready and started from the first request', async () => {
    const { port } = await serve({});
    expect(await json(port, '/startupz')).toEqual({ status: 200, body: { status: 'started' } });
    expect(await json(port, '/readyz')).toEqual({ status: 200, body: { status: 'ready' } });
  });

  test('awaitStartup: readiness says "starting" (not "shutting down") until markStarted()', async () => {
    const { port, lameduck } = await serve({ awaitStartup: true });
    expect(await json(port, '/readyz')).toEqual({ status: 503, body: { status: 'starting' } });
    expect(await json(port, '/startupz')).toEqual({ status: 503, body: { status: 'starting' } });
    expect((await get(port, '/livez')).status).toBe(200);
    expect(lameduck.stats().startup).toBe('starting');
    lameduck.markStarted();
    expect(await json(port, '/startupz')).toEqual({ status: 200, body: { status: 'started' } });
    expect(await json(port, '/readyz')).toEqual({ status: 200, body: { status: 'ready' } });
  });

  test('startup work: readiness waits for every task; later tasks are refused', async () => {
    const { port, lameduck } = await serve({});
    const first = deferred();
    const second = deferred();
    const tasks = [lameduck.addStartupTask(first.promise), lameduck.addStartupTask(() => second.promise)];
    expect((await get(port, '/readyz')).status).toBe(503);
    first.resolve();
    await tasks[0];
    expect(await json(port, '/startupz')).toEqual({ status: 503, body: { status: 'starting' } });
    second.resolve();
    await Promise.all(tasks);
    expect((await get(port, '/startupz')).status).toBe(200);
    expect((await get(port, '/readyz')).status).toBe(200);
    expect(() => lameduck.addStartupTask(Promise.resolve())).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_ALREADY_STARTED' }),
    );
  });

  test('startup work that fails: startup and liveness answer 503, so the orchestrator restarts the process', async () => {
    const { port, lameduck } = await serve({ exposeErrors: true });
    await expect(lameduck.addStartupTask(Promise.reject(new Error('no broker')))).rejects.toThrow('no broker');
    expect(await json(port, '/startupz')).toEqual({
      status: 503,
      body: { status: 'startup failed', error: 'startup work failed: no broker' },
    });
    const live = await get(port, '/livez?verbose');
    expect(live.status).toBe(503);
    expect(live.body).toBe('[-]application failed: startup work failed: no broker\nliveness check failed\n');
  });

  test('a shutdown while starting: readiness says "shutting down"', async () => {
    const { port, lameduck } = await serve({ awaitStartup: true, readinessDelay: 1_000 });
    const done = lameduck.shutdown('SIGTERM');
    expect(await json(port, '/readyz')).toMatchObject({ status: 503, body: { status: 'shutting down' } });
    await done;
  });

  test('startupPath: false serves no startup route', async () => {
    const { port } = await serve({ startupPath: false });
    expect(await get(port, '/startupz')).toMatchObject({ status: 200, body: 'ok' });
  });
});

describe('liveness that can fail', () => {
  test('markBroken(): 503 with the reason withheld (exposeErrors shows it); markHealthy(): 200 again', async () => {
    const { port, lameduck } = await serve({});
    lameduck.markBroken('database pool is wedged');
    expect(await json(port, '/livez')).toEqual({
      status: 503,
      body: { status: 'broken', state: 'serving', checks: { application: { status: 'failed' } } },
    });
    expect((await get(port, '/livez?verbose')).body).toBe(
      '[-]application failed: reason withheld\nliveness check failed\n',
    );
    expect(lameduck.stats().broken).toBe('database pool is wedged');
    lameduck.markHealthy();
    expect(await json(port, '/livez')).toEqual({ status: 200, body: { status: 'alive', state: 'serving' } });
    expect(() => lameduck.markBroken('' as string)).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_INVALID_OPTION' }),
    );
  });

  test('maxEventLoopDelay: a blocked event loop fails liveness; /livez/eventloop says by how much', async () => {
    // Generous: on a loaded machine the loop can lag by itself; a 1.5 s block is beyond any such lag.
    const { port, lameduck } = await serve({ maxEventLoopDelay: 1_000 });
    expect((await get(port, '/livez/eventloop')).status).toBe(200);
    // Node's monitor records no delay until its timer has fired once: wait until a monitor started after
    // lameduck's, on the same resolution, has a sample (lameduck's timer, started first, has fired by then).
    const witness = monitorEventLoopDelay({ resolution: 10 });
    witness.enable();
    while (witness.count === 0) await new Promise((resolve) => setImmediate(resolve));
    witness.disable();
    const until = performance.now() + 1_500;
    while (performance.now() < until) {
      // Blocks the event loop, as a runaway synchronous handler would.
    }
    // Node's monitor records the delay from its timer, in a later turn of the loop: ask at each turn.
    const req = { url: '/livez/eventloop?verbose' } as IncomingMessage;
    let eventloop = lameduck.liveness(req);
    // Bounded in turns of the loop, not in time: under a loaded machine the sample can come a few turns late.
    for (let turn = 0; eventloop.status === 200 && turn < 50; turn++) {
      await new Promise((resolve) => setImmediate(resolve));
      eventloop = lameduck.liveness(req);
    }
    expect(eventloop.status).toBe(503);
    expect(eventloop.body).toMatch(
      /^\[-\]eventloop failed: event loop delayed \d+ ms \(limit 1000 ms\)\nliveness check failed\n$/,
    );
    expect(lameduck.liveness()).toMatchObject({ status: 503, body: { status: 'broken' } });
    expect(lameduck.stats().broken).toMatch(/^event loop delayed/);
    expect((await get(port, '/livez?exclude=eventloop')).status).toBe(200);
  });
});

describe('health endpoints as Kubernetes writes them', () => {
  const checks = {
    db: () => true,
    cache: () => {
      throw new Error('connection refused');
    },
  };

  test('?verbose lists every check as plain text; JSON stays the default', async () => {
    const { port } = await serve({ checks });
    const verbose = await get(port, '/readyz?verbose');
    expect(verbose.status).toBe(503);
    expect(verbose.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(verbose.body).toBe(
      '[+]startup ok\n[+]db ok\n[-]cache failed: reason withheld\n[+]shutdown ok\nreadiness check failed\n',
    );
    expect(await json(port, '/readyz')).toEqual({
      status: 503,
      body: { status: 'not ready', checks: { db: { status: 'ok' }, cache: { status: 'failed' } } },
    });
    const healthy = await get(port, '/livez?verbose');
    expect(healthy).toMatchObject({ status: 200, body: '[+]application ok\nliveness check passed\n' });
  });

  test('per-check routes, ?exclude=, and unknown names', async () => {
    const { port } = await serve({ checks, exposeErrors: true });
    expect(await json(port, '/readyz/db')).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await json(port, '/readyz/cache')).toEqual({
      status: 503,
      body: { status: 'failed', error: 'connection refused' },
    });
    expect((await get(port, '/readyz/cache?verbose')).body).toBe(
      '[-]cache failed: connection refused\nreadiness check failed\n',
    );
    expect(await json(port, '/readyz/nope')).toEqual({ status: 404, body: { status: 'not found', check: 'nope' } });
    expect(await json(port, '/readyz?exclude=cache')).toEqual({
      status: 200,
      body: { status: 'ready', checks: { db: { status: 'ok' } } },
    });
    expect((await get(port, '/readyz?verbose&exclude=cache&exclude=shutdown&exclude=nope')).body).toBe(
      '[+]startup ok\n[+]db ok\n[+]shutdown ok\nwarn: some health checks cannot be excluded: no matches for "shutdown", "nope"\nreadiness check passed\n',
    );
  });

  test('a shutdown shows in the list, and cannot be excluded', async () => {
    const { port, lameduck } = await serve({ checks: { db: () => true }, readinessDelay: 1_000 });
    const done = lameduck.shutdown('SIGTERM');
    const verbose = await get(port, '/readyz?verbose&exclude=shutdown');
    expect(verbose.status).toBe(503);
    expect(verbose.body).toContain('[-]shutdown failed: shutting down (SIGTERM)\n');
    expect((await get(port, '/readyz/shutdown')).status).toBe(503);
    await done;
  });

  test('an interval check runs in the background from the first probe; probes answer its last result at once', async () => {
    let runs = 0;
    let healthy = true;
    const check = () => {
      runs++;
      if (!healthy) throw new Error('s3 unreachable');
    };
    const { port } = await serve({ checks: { s3: { check, interval: 60_000 } }, exposeErrors: true });
    expect(runs).toBe(0);
    expect((await get(port, '/readyz')).status).toBe(200);
    expect(runs).toBe(1);
    healthy = false;
    for (let probe = 0; probe < 3; probe++) expect((await get(port, '/readyz')).status).toBe(200);
    expect((await get(port, '/readyz/s3')).status).toBe(200);
    expect(runs).toBe(1);
  });

  test('an interval check not run yet is awaited by the first probe (readiness() too)', async () => {
    let runs = 0;
    const lameduck = createLameduck({
      silent: true,
      readinessDelay: 0,
      checks: { slow: { check: () => void runs++, interval: 60_000 } },
    });
    const reply = await lameduck.readiness();
    expect(reply.status).toBe(200);
    expect(runs).toBe(1);
    await lameduck.readiness();
    expect(runs).toBe(1);
    await lameduck.shutdown();
  });

  test('readiness(req) from an application route honours ?verbose too', async () => {
    const lameduck = createLameduck({ silent: true, readinessDelay: 0, readinessPath: false });
    managers.push(lameduck);
    const server = http.createServer((req, res) => {
      void lameduck.readiness(req).then((reply) => {
        res.writeHead(reply.status, reply.headers);
        res.end(typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body));
      });
    });
    servers.push(server);
    const port = await listen(server);
    expect((await get(port, '/health/ready?verbose')).body).toBe(
      '[+]startup ok\n[+]shutdown ok\nreadiness check passed\n',
    );
  });
});

describe('bad input', () => {
  const refused: [LameduckOptions, string, string][] = [
    [{ startupPath: 'startupz' }, 'startupPath', 'a path starting with "/" (no query, fragment or spaces), or false'],
    [{ startupPath: '/readyz' }, 'startupPath', 'different from readinessPath and livenessPath'],
    [{ awaitStartup: 'yes' as unknown as boolean }, 'awaitStartup', 'true or false'],
    [{ maxEventLoopDelay: 0 }, 'maxEventLoopDelay', 'a whole number of milliseconds from 1 to 2147483647, or false'],
    [
      { maxEventLoopDelay: true as unknown as number },
      'maxEventLoopDelay',
      'a whole number of milliseconds from 1 to 2147483647, or false',
    ],
    [{ keepServing: '/metrics' as unknown as string[] }, 'keepServing', 'an array of paths like "/metrics"'],
    [{ keepServing: ['metrics'] }, 'keepServing[0]', 'a path starting with "/" (no query, fragment or spaces)'],
    [{ checks: { 'a b': () => true } }, 'checks["a b"]', 'named with letters, digits, _ . or -'],
    [{ checks: { shutdown: () => true } }, 'checks.shutdown', 'named otherwise: "startup" and "shutdown" are built in'],
    [
      { checks: { db: { check: () => true, every: 5 } as never } },
      'checks.db',
      'a function, or { check: function, interval: milliseconds }',
    ],
    [
      { checks: { db: { check: () => true, interval: 0 } } },
      'checks.db.interval',
      'a whole number of milliseconds from 1 to 2147483647',
    ],
  ];
  test.each(refused)('%p is refused, naming %s', (options, option, expected) => {
    expect(() => createLameduck(options)).toThrow(
      expect.objectContaining({
        code: 'LAMEDUCK_INVALID_OPTION',
        option,
        message: expect.stringContaining(`option "${option}" must be ${expected}; received `),
      }),
    );
  });
});
