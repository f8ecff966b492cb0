/** graphql-ws and Apollo Server 5 beside lameduck in a real process and a real SIGTERM: Apollo's own signal handling fights lameduck; the documented split does not. */
import { join } from 'node:path';
import { request, spawnChild, stopChild, type Child } from '@lameduck/test-utils';
import type { Client } from 'graphql-ws';
import { query, subscribe, type Wiring } from './graphql-app.js';

const children: Child[] = [];
const clients: Client[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) await client.dispose();
  for (const child of children.splice(0)) await stopChild(child);
});

/** The service in a process of its own (test/fixtures/graphql-server.ts); resolves with its port. */
async function start(wiring: Omit<Wiring, 'onSlow'>): Promise<{ child: Child; port: number }> {
  const fixture = join(__dirname, 'fixtures', 'graphql-server.ts');
  const child = spawnChild(['--conditions=@lameduck/source', '--import', 'tsx', fixture], {
    env: { NODE_ENV: 'production', WIRING: JSON.stringify(wiring) },
  });
  children.push(child);
  const { port } = await child.event((line) => line.event === 'listening');
  return { child, port: port as number };
}

const lameduck = { timeout: 5_000, readinessDelay: 1_000 };

test('Apollo’s defaults beside lameduck: Apollo’s SIGTERM handler closes the listener at once and re-sends the signal, which lameduck takes as a second one: exit 1', async () => {
  const { child, port } = await start({
    lameduck,
    apolloSignals: true, // Apollo's default outside NODE_ENV=test
    drainPlugin: true,
    subscriptions: 'apollo',
    stopInHook: false,
  });
  // In flight when the signal comes; whether it is answered depends on which of the two ends first.
  const answered = query(port, '{ slow }').catch(() => undefined);
  await child.event((line) => line.event === 'slow');
  child.kill('SIGTERM');
  await child.log((line) => line.msg === 'shutdown started: readiness fails now');
  // The lame-duck phase, when balancers still route here and probes should read 503: nothing listens
  // (refused, or reset when the connection was queued as the listener closed).
  await expect(request(port, { path: '/readyz' })).rejects.toMatchObject({
    code: expect.stringMatching(/^ECONN(REFUSED|RESET)$/),
  });
  await answered;
  await child.log((line) => line.msg === 'second signal: exiting now without draining');
  expect(await child.exited).toEqual({ code: 1, signal: null });
});

test('the documented split (lameduck: signals, server, closer; Apollo: stop() in a hook, no signal handling): 1001, the query answered, the lame-duck phase kept, exit 0', async () => {
  const { child, port } = await start({
    lameduck,
    apolloSignals: false,
    drainPlugin: false,
    subscriptions: 'lameduck',
    stopInHook: true,
  });
  const subscription = await subscribe(`ws://127.0.0.1:${port}/graphql`);
  clients.push(subscription.client);
  const answered = query(port, '{ slow }');
  await child.event((line) => line.event === 'slow');
  child.kill('SIGTERM');
  await child.log((line) => line.msg === 'shutdown started: readiness fails now');
  expect((await request(port, { path: '/readyz' })).status).toBe(503);
  const reply = await answered;
  expect([reply.status, JSON.parse(reply.body)]).toEqual([200, { data: { slow: 'done' } }]);
  expect((await subscription.closed).code).toBe(1001);
  const complete = await child.log((line) => line.msg === 'shutdown complete');
  expect(complete).toMatchObject({ graceful: true, exitCode: 0, hookFailures: [] });
  expect(await child.exited).toEqual({ code: 0, signal: null });
});
