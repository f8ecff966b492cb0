/** The lame-duck phase on evidence: real probers polling a real child process, real signals. */
import http from 'node:http';
import { request, stopChild, type Child, type Line } from '@lameduck/test-utils';
import { ports, spawnFixture } from './helpers.js';

const children: Child[] = [];
const agents: http.Agent[] = [];
function start(options: Record<string, unknown>, env: Record<string, string> = {}): Child {
  const child = spawnFixture('server', { LAMEDUCK_OPTIONS: JSON.stringify(options), QUIET_REQUESTS: '1', ...env });
  children.push(child);
  return child;
}
afterEach(async () => {
  for (const agent of agents.splice(0)) agent.destroy();
  for (const child of children.splice(0)) await stopChild(child);
});

const message = (text: string) => (line: Line) => line.msg === text;
const state = (name: string) => (line: Line) => line.event === 'state' && line.state === name;

/** A prober like HAProxy's or the kubelet's: `GET /readyz` on a new connection every `every` ms. */
function poll(port: number, every: number) {
  const answers: (number | string)[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = (): void => {
    void request(port, { path: '/readyz', agent: false })
      .then(
        (reply) => answers.push(reply.status),
        (error: NodeJS.ErrnoException) => answers.push(error.code ?? 'error'),
      )
      .then(() => {
        for (const waiter of [...waiters]) {
          if (answers.length >= waiter.count) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve();
          }
        }
      });
    if (!stopped) timer = setTimeout(tick, every);
  };
  tick();
  return {
    answers,
    /** Resolves once `count` probes have been answered. */
    answered: (count: number) =>
      new Promise<void>((resolve) => (answers.length >= count ? resolve() : waiters.push({ count, resolve }))),
    stop(): void {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

test('a prober polling every 200 ms: the listener closes only after it got 3 503s; meanwhile requests are served with Connection: close', async () => {
  const child = start({ timeout: 10_000 });
  const [port] = await ports(child);
  const prober = poll(port!, 200);
  await prober.answered(3);
  expect(prober.answers).toEqual([200, 200, 200]);

  child.kill('SIGTERM');
  const started = await child.log(message('shutdown started: readiness fails now'));
  expect(started).toMatchObject({
    readinessDelay: 'auto',
    lameDuckMode: 'probers',
    probers: [{ id: '127.0.0.1', interval: expect.any(Number) }],
    lameDuckMin: 0,
    lameDuckMax: 6_000, // 10000 - 2000 (cleanupReserve) - 2000 (drain window)
  });
  const keepAlive = new http.Agent({ keepAlive: true });
  agents.push(keepAlive);
  const served = await request(port!, { path: '/', agent: keepAlive });
  expect(served).toMatchObject({ status: 200, body: 'ok', headers: { connection: 'close' } });

  await child.event(state('draining'));
  const seenBeforeClose = prober.answers.slice(3);
  prober.stop();
  expect(seenBeforeClose.filter((status) => status === 503).length).toBeGreaterThanOrEqual(3);
  expect(seenBeforeClose.every((status) => status === 503)).toBe(true);
  expect(await child.exited).toEqual({ code: 0, signal: null });
  const result = await child.event((line) => line.event === 'result');
  expect(result).toMatchObject({ graceful: true, requests: { rejected: 0 } });
  // Ended by the evidence, not by the cap.
  expect((result.durations as { lameDuck: number }).lameDuck).toBeLessThan(6_000);
});

test('a prober that stops probing at the signal does not hold the phase open', async () => {
  const child = start({ timeout: 10_000 });
  const [port] = await ports(child);
  const prober = poll(port!, 200);
  await prober.answered(3);
  prober.stop();
  await prober.answered(prober.answers.length); // nothing in flight
  child.kill('SIGTERM');
  expect(await child.log(message('shutdown started: readiness fails now'))).toMatchObject({ lameDuckMode: 'probers' });
  expect(await child.exited).toEqual({ code: 0, signal: null });
  const result = await child.event((line) => line.event === 'result');
  expect((result.durations as { lameDuck: number }).lameDuck).toBeLessThan(6_000);
  expect(prober.answers.every((status) => status === 200)).toBe(true);
});

test('a fixed readinessDelay still lasts exactly that long, and the start line says so', async () => {
  const child = start({ timeout: 10_000, readinessDelay: 300 });
  const [port] = await ports(child);
  const prober = poll(port!, 200);
  await prober.answered(2);
  prober.stop();
  child.kill('SIGTERM');
  expect(await child.log(message('shutdown started: readiness fails now'))).toMatchObject({
    readinessDelay: 300,
    lameDuckMode: 'fixed',
    lameDuckMin: 300,
    lameDuckMax: 300,
  });
  expect(await child.exited).toEqual({ code: 0, signal: null });
  const result = await child.event((line) => line.event === 'result');
  expect((result.durations as { lameDuck: number }).lameDuck).toBeGreaterThanOrEqual(300);
});

test('in Kubernetes, nobody probing: the platform minimum, capped by the budget', async () => {
  // timeout 2000: cleanupReserve 400, drain window 400, so the 5 s minimum is capped at 1200.
  const child = start({ timeout: 2_000 }, { KUBERNETES_SERVICE_HOST: '10.96.0.1' });
  await ports(child);
  child.kill('SIGTERM');
  expect(await child.log(message('shutdown started: readiness fails now'))).toMatchObject({
    lameDuckMode: 'platform minimum',
    platform: 'kubernetes',
    probers: [],
    lameDuckMin: 1_200,
  });
  expect(await child.exited).toEqual({ code: 0, signal: null });
  const result = await child.event((line) => line.event === 'result');
  expect((result.durations as { lameDuck: number }).lameDuck).toBeGreaterThanOrEqual(1_200);
});

test('minReadinessDelay replaces the platform minimum', async () => {
  const child = start({ timeout: 10_000, minReadinessDelay: 0 }, { KUBERNETES_SERVICE_HOST: '10.96.0.1' });
  await ports(child);
  child.kill('SIGTERM');
  expect(await child.log(message('shutdown started: readiness fails now'))).toMatchObject({
    lameDuckMode: 'no probers',
    lameDuckMin: 0,
  });
  expect(await child.exited).toEqual({ code: 0, signal: null });
  expect(await child.event((line) => line.event === 'result')).toMatchObject({ durations: { lameDuck: 0 } });
});

test('under PM2, one warning at startup naming its kill_timeout; never an error', async () => {
  const child = start({ timeout: 10_000 }, { pm_id: '0' });
  await ports(child);
  const warning = await child.log((line) => line.platform === 'pm2');
  expect(warning).toMatchObject({
    level: 'warn',
    killTimeout: 1_600,
    timeout: 10_000,
    msg: "PM2 kills the process 1600 ms after its signal, before lameduck's timeout (10000 ms): set kill_timeout above it",
  });
  child.kill('SIGTERM');
  expect(await child.exited).toEqual({ code: 0, signal: null });
  expect(child.logs.filter((line) => line.platform !== undefined)).toHaveLength(1);
  expect(child.logs.filter((line) => line.level === 'error')).toEqual([]);
});
