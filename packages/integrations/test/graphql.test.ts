/** graphql-ws 6 and Apollo Server 5 on Express, in process: subscriptions end with 1001 when the drain starts, HTTP queries drain as usual, Apollo stops after the last one. */
import { deferred, type Deferred } from '@lameduck/test-utils';
import type { Client } from 'graphql-ws';
import { query, startGraphql, subscribe as subscribeWith, type GraphqlService, type Wiring } from './graphql-app.js';

const services: GraphqlService[] = [];
const clients: Client[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) await client.dispose();
  for (const { lameduck } of services.splice(0)) await lameduck.shutdown('test over', { readinessDelay: 0 });
});

// Apollo warns when the test checks that a stopped server refuses operations; that is the point.
const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

const subscribe = async (wsUrl: string) => {
  const subscription = await subscribeWith(wsUrl);
  clients.push(subscription.client);
  return subscription;
};

/** The service, with a `slow` query held until the test releases it. */
async function start(
  wiring: Partial<Wiring>,
  timeout = 10_000,
): Promise<GraphqlService & { slowArrived: Promise<(value: string) => void> }> {
  const slow: Deferred<(value: string) => void> = deferred();
  const service = await startGraphql({
    lameduck: { timeout, readinessDelay: 0, silent: true, handleSignals: false },
    apolloSignals: false,
    drainPlugin: false,
    subscriptions: 'lameduck',
    stopInHook: true,
    onSlow: (release) => slow.resolve(release),
    apolloLogger: quiet,
    ...wiring,
  });
  services.push(service);
  return { ...service, slowArrived: slow.promise };
}

test('without a closer, an open subscription holds the drain until the deadline forces it', async () => {
  const { lameduck, wsUrl } = await start({ subscriptions: 'none' }, 1_500);
  await subscribe(wsUrl);
  const result = await lameduck.shutdown('deploy');
  expect(result).toMatchObject({ forced: true, exitCode: 1 });
  expect(result.stuckUpgrades).toHaveLength(1);
});

test.each([
  ['graphql-ws dispose() in a closer', { subscriptions: 'lameduck' as const }],
  [
    'the same, with Apollo’s ApolloServerPluginDrainHttpServer kept',
    { subscriptions: 'lameduck' as const, drainPlugin: true },
  ],
])(
  '%s: subscriptions end with 1001 when the drain starts, a query in flight is answered, Apollo stops after it; exit 0',
  async (_, wiring) => {
    const { lameduck, wsUrl, port, slowArrived, apollo } = await start(wiring);
    const subscriptions = await Promise.all([subscribe(wsUrl), subscribe(wsUrl)]);
    const answered = query(port, '{ slow }');
    const release = await slowArrived;
    const shutdown = lameduck.shutdown('deploy');
    for (const subscription of subscriptions) {
      expect(await subscription.closed).toMatchObject({ code: 1001 });
    }
    // The drain is still waiting for the query; Apollo has not been stopped under it.
    expect(lameduck.state).toBe('draining');
    release('done');
    const reply = await answered;
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({ data: { slow: 'done' } });
    expect(reply.headers.connection).toBe('close');
    const result = await shutdown;
    expect(result).toMatchObject({ graceful: true, exitCode: 0, hookFailures: [], stuckUpgrades: [] });
    // Stopped by the hook: it refuses operations from now on.
    await expect(apollo.executeOperation({ query: '{ hello }' })).rejects.toThrow(/stopped/);
  },
);

test('closing each socket with 1001 instead of dispose() works the same', async () => {
  const { lameduck, wsUrl, wss } = await start({ subscriptions: 'none' });
  lameduck.addCloser(() => {
    for (const client of wss.clients) client.close(1001, 'server shutting down');
  });
  const { closed } = await subscribe(wsUrl);
  const result = await lameduck.shutdown('deploy');
  expect(await closed).toEqual({ code: 1001, reason: 'server shutting down' });
  expect(result).toMatchObject({ graceful: true, exitCode: 0 });
});

describe('Apollo’s subscription guide (dispose() in the drainServer of a plugin) beside lameduck', () => {
  test('alone: dispose() runs only when apollo.stop() does, after the drain, so the subscription holds the drain until forced', async () => {
    const { lameduck, wsUrl } = await start({ subscriptions: 'apollo' }, 1_500);
    const { closed } = await subscribe(wsUrl);
    const result = await lameduck.shutdown('deploy');
    expect(result).toMatchObject({ forced: true, exitCode: 1 });
    expect(result.stuckUpgrades).toHaveLength(1);
    expect((await closed).code).not.toBe(1001);
  });

  test('with the closer too: the second dispose() fails apollo.stop(), a failed hook: exit 1', async () => {
    const { lameduck, wsUrl } = await start({ subscriptions: 'both' });
    const { closed } = await subscribe(wsUrl);
    const result = await lameduck.shutdown('deploy');
    expect((await closed).code).toBe(1001);
    expect(result).toMatchObject({
      forced: false,
      exitCode: 1,
      hookFailures: [expect.objectContaining({ name: 'apollo' })],
    });
  });
});
