/** `lameduck.fetch()` and `interceptFetch()`: the Fetch-API answers in each phase, driven in process with real Requests. */
import http from 'node:http';
import { createLameduck, type Lameduck } from '@lameduck/core';
import { deferred, listen, request } from '@lameduck/test-utils';

const quick = { silent: true, readinessDelay: 0 } as const;
const hello = (): Response => new Response('hello');
const at = (path: string, init?: RequestInit): Request => new Request(`http://127.0.0.1:3000${path}`, init);

/** A node:http request that holds the drain open until `release()`: the fetch path is driven meanwhile. */
async function holdDrain(lameduck: Lameduck): Promise<{ release(): void; reply: Promise<unknown> }> {
  const arrived = deferred();
  const released = deferred();
  const server = http.createServer((req, res) => {
    arrived.resolve();
    void released.promise.then(() => res.end('held'));
  });
  lameduck.attach(server);
  const port = await listen(server);
  const reply = request(port);
  await arrived.promise;
  return { release: () => released.resolve(), reply };
}

describe('lameduck.fetch()', () => {
  test("while serving: the probes are lameduck's, everything else the handler's, no Connection header", async () => {
    const lameduck = createLameduck(quick);
    const fetch = lameduck.fetch(hello);
    const ready = await fetch(at('/readyz'));
    expect([ready.status, await ready.json()]).toEqual([200, { status: 'ready' }]);
    expect((await fetch(at('/livez'))).status).toBe(200);
    expect((await fetch(at('/readyz', { method: 'HEAD' }))).status).toBe(200);
    const response = await fetch(at('/anything?q=1'));
    expect([response.status, await response.text(), response.headers.get('connection')]).toEqual([200, 'hello', null]);
    expect(lameduck.stats().inflight).toBe(0);
  });

  test('from the shutdown on: readiness 503, responses close their connection; in the last stretch a 503 with Retry-After', async () => {
    const lameduck = createLameduck({
      ...quick,
      timeout: 1_200,
      cleanupReserve: 200,
      abortBefore: 400,
      keepServing: ['/metrics'],
    });
    const fetch = lameduck.fetch(hello);
    const held = await holdDrain(lameduck);
    const result = lameduck.shutdown();
    expect((await fetch(at('/readyz'))).status).toBe(503);
    expect((await fetch(at('/livez'))).status).toBe(200);
    const served = await fetch(at('/'));
    expect([served.status, served.headers.get('connection')]).toEqual([200, 'close']);

    const nearDeadline = deferred();
    lameduck.deadlineSignal.addEventListener('abort', () => nearDeadline.resolve());
    await nearDeadline.promise;
    const refused = await fetch(at('/late', { method: 'POST', body: 'x' }));
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(refused.headers.get('connection')).toBe('close');
    expect(await refused.json()).toMatchObject({ status: 'shutting down' });
    // Kept serving to the end.
    expect((await fetch(at('/metrics'))).status).toBe(200);
    held.release();
    await held.reply;
    expect((await result).requests).toMatchObject({ rejected: 1 });
  });

  test('a handler that throws is not left counted in flight', async () => {
    const lameduck = createLameduck(quick);
    const fetch = lameduck.fetch(() => Promise.reject(new Error('boom')));
    await expect(fetch(at('/'))).rejects.toThrow('boom');
    expect(lameduck.stats().inflight).toBe(0);
  });

  test('a response whose headers are immutable (Response.redirect(), a fetch() response) is copied to say Connection: close', async () => {
    const lameduck = createLameduck(quick);
    const fetch = lameduck.fetch(() => Response.redirect('http://127.0.0.1:3000/elsewhere', 302));
    const held = await holdDrain(lameduck);
    const result = lameduck.shutdown();
    const response = await fetch(at('/'));
    expect([response.status, response.headers.get('location'), response.headers.get('connection')]).toEqual([
      302,
      'http://127.0.0.1:3000/elsewhere',
      'close',
    ]);
    held.release();
    await held.reply;
    await result;
  });
});
