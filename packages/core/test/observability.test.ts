/** The diagnostics channels through a real shutdown, and the Prometheus text scraped during a drain on a kept-alive connection. */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import http from 'node:http';
import {
  CHANNELS,
  createLameduck,
  prometheusMetrics,
  PROMETHEUS_CONTENT_TYPE,
  type Lameduck,
  type LameduckOptions,
} from '@lameduck/core';
import { aborted, closeServer, deferred, listen, request, type Deferred } from '@lameduck/test-utils';

const servers: http.Server[] = [];
const agents: http.Agent[] = [];
afterEach(async () => {
  for (const agent of agents.splice(0)) agent.destroy();
  for (const server of servers.splice(0)) await closeServer(server);
});

function keepAlive(): http.Agent {
  const agent = new http.Agent({ keepAlive: true });
  agents.push(agent);
  return agent;
}

/** node:http with lameduck; `/slow` answers when `release` resolves (never, if it is not), `/metrics` is the recipe. */
async function serve(options: LameduckOptions): Promise<{
  port: number;
  lameduck: Lameduck;
  server: http.Server;
  arrived: Deferred<void>;
  release: Deferred<void>;
}> {
  const lameduck = createLameduck({ silent: true, readinessDelay: 0, ...options });
  const arrived = deferred();
  const release = deferred();
  const server = http.createServer((req, res) => {
    if (lameduck.handle(req, res)) return;
    if (req.url?.split('?')[0] === '/metrics') {
      res.setHeader('content-type', PROMETHEUS_CONTENT_TYPE);
      return void res.end(prometheusMetrics(lameduck));
    }
    if (req.url?.startsWith('/slow')) {
      arrived.resolve();
      return void release.promise.then(() => res.end('slow done'));
    }
    res.end('ok');
  });
  lameduck.attach(server);
  servers.push(server);
  return { port: await listen(server), lameduck, server, arrived, release };
}

test('every documented channel gets each event once, in order, with the documented fields', async () => {
  // The last stretch, where a late request gets the 503, starts 1 ms into the 600 ms drain window.
  const { port, lameduck, arrived } = await serve({
    timeout: 1_000,
    cleanupReserve: 400,
    abortBefore: 599,
    idleGrace: 60_000,
  });
  const events: { name: string; message: Record<string, unknown> }[] = [];
  const listeners = Object.values(CHANNELS).map((name) => {
    const listener = (message: unknown) => events.push({ name, message: message as Record<string, unknown> });
    subscribe(name, listener);
    return [name, listener] as const;
  });
  try {
    lameduck.addHook(() => undefined, { name: 'first' });
    lameduck.addHook(
      () => {
        throw new Error('queue refused to close');
      },
      { name: 'second' },
    );
    lameduck.markBroken('wedged');
    lameduck.markHealthy();
    const kept = keepAlive();
    await request(port, { agent: kept });
    const hung = request(port, { path: '/slow?never', agent: keepAlive() }).catch((error: Error) => error);
    await arrived.promise;
    const done = lameduck.shutdown('test');
    await aborted(lameduck.deadlineSignal);
    const late = await request(port, { path: '/late', agent: kept });
    expect(late.status).toBe(503);
    const result = await done;
    await hung;

    expect(events.map((event) => event.name)).toEqual([
      CHANNELS.availability,
      CHANNELS.availability,
      CHANNELS.shutdownStart,
      CHANNELS.state,
      CHANNELS.state,
      CHANNELS.requestRejected,
      CHANNELS.requestForced,
      CHANNELS.state,
      CHANNELS.hook,
      CHANNELS.hook,
      CHANNELS.state,
      CHANNELS.shutdownEnd,
    ]);
    for (const { message } of events) expect(message.lameduck).toBe(lameduck);
    const messages = events.map(({ message: { lameduck: _manager, ...fields } }) => fields);
    expect(messages).toEqual([
      { startup: 'started', broken: 'wedged' },
      { startup: 'started', broken: undefined },
      { reason: 'test', timeout: 1_000 },
      { state: 'lameduck', previous: 'serving' },
      { state: 'draining', previous: 'lameduck' },
      { method: 'GET', url: '/late', rejected: 1 },
      { method: 'GET', url: '/slow?never', age: expect.any(Number), upgrade: false },
      { state: 'cleanup', previous: 'draining' },
      { name: 'second', ok: false, timedOut: false, error: expect.any(Error), duration: expect.any(Number) },
      { name: 'first', ok: true, timedOut: false, error: undefined, duration: expect.any(Number) },
      { state: 'closed', previous: 'cleanup' },
      { result },
    ]);
    expect((messages[8]!.error as Error).message).toBe('queue refused to close');
    expect(result).toMatchObject({ forced: true, requests: { rejected: 1 }, stuckRequests: [{ url: '/slow?never' }] });
  } finally {
    for (const [name, listener] of listeners) unsubscribe(name, listener);
  }
});

test('/metrics kept serving: scraped on a kept-alive connection in the last stretch, 200 with the drain counters', async () => {
  // The last stretch, where other requests get the 503, starts 1 ms into the 25 s drain window.
  const { port, lameduck, server, arrived, release } = await serve({
    keepServing: ['/metrics'],
    idleGrace: 60_000,
    timeout: 30_000,
    abortBefore: 24_999,
  });
  const scraper = keepAlive();
  const before = await request(port, { path: '/metrics', agent: scraper });
  expect(before.status).toBe(200);
  expect(before.body).toContain('lameduck_state{state="serving"} 1\n');

  const slow = request(port, { path: '/slow', agent: keepAlive() });
  await arrived.promise;
  const other = keepAlive();
  await request(port, { agent: other });
  const done = lameduck.shutdown('SIGTERM');
  expect(server.listening).toBe(false);
  await aborted(lameduck.deadlineSignal);
  expect((await request(port, { path: '/', agent: other })).status).toBe(503);

  const scrape = await request(port, { path: '/metrics?x=1', agent: scraper });
  expect(scrape.socket).toBe(before.socket);
  expect(scrape.status).toBe(200);
  expect(scrape.headers['content-type']).toBe(PROMETHEUS_CONTENT_TYPE);
  expect(scrape.headers.connection).toBe('close');
  const text = scrape.body;
  expect(text).toContain('# TYPE lameduck_state gauge\n');
  expect(text).toContain('lameduck_state{state="draining"} 1\n');
  expect(text).toContain('lameduck_state{state="serving"} 0\n');
  // The slow request, and this scrape.
  expect(text).toContain('lameduck_inflight_requests 2\n');
  expect(text).toContain('# TYPE lameduck_rejected_requests_total counter\nlameduck_rejected_requests_total 1\n');
  expect(text).toContain('lameduck_forced_requests_total 0\n');
  expect(text).toMatch(/^lameduck_phase_seconds\{phase="drain"\} \d+(\.\d+)?$/m);
  expect(text).toMatch(/^lameduck_connections [1-9]\d*$/m);

  release.resolve();
  expect(await slow).toMatchObject({ status: 200 });
  expect(await done).toMatchObject({ graceful: true, requests: { rejected: 1 } });
  expect(lameduck.stats()).toMatchObject({ state: 'closed', requests: { rejected: 1, forced: 0 } });
});

test('prometheusMetrics() takes a prefix, and refuses a bad one', () => {
  const lameduck = createLameduck({ silent: true });
  expect(prometheusMetrics(lameduck, { prefix: 'api_' })).toContain('\napi_inflight_requests 0\n');
  expect(() => prometheusMetrics(lameduck, { prefix: 'bad prefix' })).toThrow(
    expect.objectContaining({ code: 'LAMEDUCK_INVALID_OPTION', option: 'prefix' }),
  );
});
