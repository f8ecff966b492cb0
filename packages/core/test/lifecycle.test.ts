/** Hooks, background tasks, readiness checks and logging, driven in process. */
import http from 'node:http';
import { createLameduck, type Logger } from '@lameduck/core';
import { createLameduckWithClock } from '../src/lameduck.js';
import { deferred, listen, request } from '@lameduck/test-utils';

const quick = { silent: true, readinessDelay: 0 } as const;

describe('cleanup hooks', () => {
  test('run after the drain, last registered first, each with its own time; failures are collected', async () => {
    const lameduck = createLameduck({ ...quick, hookTimeout: 100 });
    const ran: string[] = [];
    let hangSignal: AbortSignal | undefined;
    lameduck.addHook(() => void ran.push(`logger:${lameduck.state}`), { name: 'logger' });
    lameduck.addHook(
      (signal) => {
        ran.push('hangs');
        hangSignal = signal;
        return new Promise(() => {});
      },
      { name: 'hangs', timeout: 50 },
    );
    lameduck.addHook(function rejects() {
      ran.push('rejects');
      return Promise.reject(new Error('pool already closed'));
    });
    lameduck.addHook(() => {
      ran.push('throws');
      throw 'a string';
    });
    const removed = lameduck.addHook(() => void ran.push('removed'));
    removed();

    const result = await lameduck.shutdown();
    expect(ran).toEqual(['throws', 'rejects', 'hangs', 'logger:cleanup']);
    expect(hangSignal?.aborted).toBe(true);
    expect(result.hookFailures.map(({ name, timedOut, error }) => [name, timedOut, error.message])).toEqual([
      ['hook #4', false, 'a string'],
      ['rejects', false, 'pool already closed'],
      ['hangs', true, 'lameduck: cleanup hook "hangs" did not finish within 50 ms'],
    ]);
    expect(result.hookFailures[2]!.error).toMatchObject({ code: 'LAMEDUCK_HOOK_TIMEOUT' });
    expect(result).toMatchObject({ graceful: false, forced: false, exitCode: 1 });
  });

  test('run phase by phase (work, resources, telemetry) whatever the order they were registered in', async () => {
    const lameduck = createLameduck(quick);
    const ran: string[] = [];
    const hook = (name: string) => () => void ran.push(name);
    lameduck.addHook(hook('telemetry'), { phase: 'telemetry' });
    lameduck.addHook(hook('pool'));
    lameduck.addHook(hook('worker'), { phase: 'work' });
    lameduck.addHook(hook('logs'), { phase: 'telemetry' });
    lameduck.addHook(hook('cache'), { phase: 'resources' });
    lameduck.addHook(hook('scheduler'), { phase: 'work' });
    const result = await lameduck.shutdown();
    // Within a phase, last registered first; a hook without a phase is a resource.
    expect(ran).toEqual(['scheduler', 'worker', 'cache', 'pool', 'logs', 'telemetry']);
    expect(result.graceful).toBe(true);
  });

  test.each([['teardown'], [''], [1], ['Telemetry']])(
    'an unknown phase (%p) is refused, naming the option',
    (phase) => {
      const lameduck = createLameduck(quick);
      expect(() => lameduck.addHook(() => {}, { phase: phase as never })).toThrow(
        expect.objectContaining({
          code: 'LAMEDUCK_INVALID_OPTION',
          message: expect.stringContaining('option "phase" must be "work", "resources" or "telemetry"; received'),
        }),
      );
    },
  );

  test('the overall deadline cuts hooks short, and hooks it leaves no time for are reported, not started', async () => {
    const lameduck = createLameduck({ ...quick, timeout: 400, cleanupReserve: 100, hookTimeout: 10_000 });
    const ran: string[] = [];
    lameduck.addHook(() => void ran.push('never'), { name: 'last' });
    lameduck.addHook(() => new Promise(() => ran.push('slow')), { name: 'slow' });
    const result = await lameduck.shutdown();
    expect(ran).toEqual(['slow']);
    expect(
      result.hookFailures.map(({ name, timedOut, error }) => [name, timedOut, (error as { code?: string }).code]),
    ).toEqual([
      ['slow', true, 'LAMEDUCK_HOOK_TIMEOUT'],
      ['last', true, 'LAMEDUCK_HOOK_SKIPPED'],
    ]);
    expect(result.durations.total).toBeLessThan(10_000);
  });
});

describe('background tasks', () => {
  test('a task function gets the shutdown signal; shutdown waits for it', async () => {
    const lameduck = createLameduck(quick);
    const finished = deferred();
    let signalledAt: string | undefined;
    const task = lameduck.addTask(async (signal) => {
      await new Promise<void>((resolve) =>
        signal.addEventListener('abort', () => {
          signalledAt = lameduck.state;
          resolve();
        }),
      );
      await finished.promise;
      return 'flushed';
    });
    const hookSawTask: string[] = [];
    lameduck.addHook(() => void hookSawTask.push(`tasks=${lameduck.stats().tasks}`));
    const done = lameduck.shutdown();
    expect(signalledAt).toBe('lameduck');
    expect(lameduck.stats().tasks).toBe(1);
    finished.resolve();
    await expect(task).resolves.toBe('flushed');
    expect(await done).toMatchObject({ graceful: true, abandonedTasks: 0 });
    expect(hookSawTask).toEqual(['tasks=0']);
  });

  test('a task still running at the deadline is abandoned and reported; a rejected task counts as done', async () => {
    const lameduck = createLameduck({ ...quick, timeout: 300, cleanupReserve: 100 });
    void lameduck.addTask(new Promise(() => {}));
    const failing = lameduck.addTask(Promise.reject(new Error('queue error')));
    await expect(failing).rejects.toThrow('queue error');
    const result = await lameduck.shutdown();
    expect(result).toMatchObject({ forced: true, abandonedTasks: 1, exitCode: 1 });
  });

  test('addTask() after the drain is refused', async () => {
    const lameduck = createLameduck(quick);
    await lameduck.shutdown();
    expect(() => lameduck.addTask(Promise.resolve())).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_SHUTTING_DOWN' }),
    );
  });
});

describe('readiness checks', () => {
  test('all passing: 200; one failing or slow: 503 without error details', async () => {
    const lameduck = createLameduck({
      silent: true,
      checkTimeout: 50,
      checks: { db: () => true, cache: async () => undefined },
    });
    expect(await lameduck.readiness()).toMatchObject({ status: 200, body: { status: 'ready' } });

    const failing = createLameduck({
      silent: true,
      checkTimeout: 50,
      checks: {
        db: () => {
          throw new Error('password authentication failed for user "app"');
        },
        queue: () => false,
        cache: () => new Promise(() => {}),
        ok: () => 'fine',
      },
    });
    const response = await failing.readiness();
    expect(response.status).toBe(503);
    expect(response.body).toEqual({
      status: 'not ready',
      checks: {
        db: { status: 'failed' },
        queue: { status: 'failed' },
        cache: { status: 'timeout' },
        ok: { status: 'ok' },
      },
    });
    expect(JSON.stringify(response.body)).not.toContain('password');
  });

  test('exposeErrors puts the messages in the body', async () => {
    const lameduck = createLameduck({
      silent: true,
      exposeErrors: true,
      checks: { db: () => Promise.reject(new Error('ECONNREFUSED 10.0.0.5:5432')) },
    });
    expect((await lameduck.readiness()).body).toEqual({
      status: 'not ready',
      checks: { db: { status: 'failed', error: 'ECONNREFUSED 10.0.0.5:5432' } },
    });
  });

  test('once shutdown starts, readiness fails without running the checks; liveness stays 200', async () => {
    let ran = 0;
    const lameduck = createLameduck({ ...quick, checks: { db: () => void ran++ } });
    const done = lameduck.shutdown('SIGTERM');
    expect(await lameduck.readiness()).toMatchObject({
      status: 503,
      body: { status: 'shutting down', reason: 'SIGTERM' },
    });
    expect(ran).toBe(0);
    expect(lameduck.liveness()).toMatchObject({ status: 200, body: { status: 'alive' } });
    await done;
    expect(lameduck.liveness()).toMatchObject({ status: 200, body: { status: 'alive', state: 'closed' } });
  });
});

describe('logging', () => {
  function recorder() {
    const lines: [string, Record<string, unknown>, string | undefined][] = [];
    const logger: Logger = {
      info: (fields, message) => void lines.push(['info', fields as Record<string, unknown>, message]),
      warn: (fields, message) => void lines.push(['warn', fields as Record<string, unknown>, message]),
      error: (fields, message) => void lines.push(['error', fields as Record<string, unknown>, message]),
    };
    return { lines, logger };
  }

  test('a pino-style logger gets the start and completion lines, fields first', async () => {
    const { lines, logger } = recorder();
    const lameduck = createLameduck({ readinessDelay: 0, logger });
    lameduck.addHook(
      () => {
        throw new Error('flush failed');
      },
      { name: 'flush' },
    );
    await lameduck.shutdown('deploy');
    expect(lines.map(([level, , message]) => [level, message])).toEqual([
      ['info', 'shutdown started: readiness fails now'],
      ['info', 'listener closed: draining'],
      ['error', 'cleanup hook failed'],
      ['warn', 'shutdown complete'],
    ]);
    expect(lines[0]![1]).toMatchObject({ reason: 'deploy', inflight: 0, readinessDelay: 0, timeout: 25_000 });
    expect(lines[1]![1]).toEqual({ inflight: 0, connections: 0, tasks: 0 });
    expect(lines[2]![1]).toMatchObject({ hook: 'flush', err: expect.objectContaining({ message: 'flush failed' }) });
    expect(lines[3]![1]).toMatchObject({ graceful: false, hookFailures: ['flush'], durations: expect.any(Object) });
  });

  test('a logger that throws does not break the shutdown; silent logs nothing', async () => {
    const throwing: Logger = {
      info() {
        throw new Error('transport closed');
      },
      warn() {
        throw new Error('transport closed');
      },
      error() {
        throw new Error('transport closed');
      },
    };
    expect(await createLameduck({ readinessDelay: 0, logger: throwing }).shutdown()).toMatchObject({ graceful: true });
    const { lines, logger } = recorder();
    await createLameduck({ readinessDelay: 0, logger, silent: true }).shutdown();
    expect(lines).toEqual([]);
  });

  test('while draining, progress is logged at most once a second: in flight, connections, seconds left', async () => {
    const { lines, logger } = recorder();
    const lameduck = createLameduck({ readinessDelay: 0, logger });
    const arrived = deferred();
    const release = deferred();
    const server = http.createServer((_req, res) => {
      arrived.resolve();
      void release.promise.then(() => res.end('done'));
    });
    lameduck.attach(server);
    const port = await listen(server);
    const reply = request(port);
    await arrived.promise;
    const done = lameduck.shutdown();
    const progress = new Promise<Record<string, unknown>>((resolve) => {
      const info = logger.info;
      logger.info = (fields, message) => {
        info(fields, message);
        if (message === 'draining') resolve(fields as Record<string, unknown>);
      };
    });
    expect(await progress).toEqual({ inflight: 1, connections: 1, tasks: 0, secondsLeft: expect.any(Number) });
    release.resolve();
    await reply;
    await done;
    const draining = lines.filter(([, , message]) => message === 'draining');
    expect(draining).toHaveLength(1);
    expect(draining[0]![1].secondsLeft).toBeLessThanOrEqual(20);
  });
});

describe('the clock', () => {
  test('a manager reads time from its clock: durations follow a replaced one', async () => {
    let time = 10_000;
    const lameduck = createLameduckWithClock(quick, () => time);
    lameduck.addHook(() => {
      time += 2_000;
    });
    const result = await lameduck.shutdown();
    expect(result.durations).toEqual({ lameDuck: 0, drain: 0, cleanup: 2_000, total: 2_000 });
    expect(result.graceful).toBe(true);
  });

  test('a hook cut off at the deadline ends the hooks, even when its timer fires before the clock reaches it', async () => {
    // Node's timers run on the event loop's cached time, which can lag the clock by milliseconds on a
    // loaded machine: a timer set for the time left fires with a little of it still on the clock. Here
    // the clock runs at half speed, so that timer fires with half the time left.
    const started = performance.now();
    const lameduck = createLameduckWithClock(
      { ...quick, timeout: 400, cleanupReserve: 100, hookTimeout: 10_000 },
      () => started + (performance.now() - started) / 2,
    );
    const ran: string[] = [];
    lameduck.addHook(() => void ran.push('never'), { name: 'last' });
    lameduck.addHook(() => new Promise(() => ran.push('slow')), { name: 'slow' });
    const result = await lameduck.shutdown();
    expect(ran).toEqual(['slow']);
    expect(result.hookFailures.map(({ name, error }) => [name, (error as { code?: string }).code])).toEqual([
      ['slow', 'LAMEDUCK_HOOK_TIMEOUT'],
      ['last', 'LAMEDUCK_HOOK_SKIPPED'],
    ]);
  });
});
