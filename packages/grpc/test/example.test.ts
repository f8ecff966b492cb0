/** examples/grpc, started as its `start` script says: its calls, stream and health across a SIGTERM; three of it restarted in turn under a round_robin client. */
import * as grpc from '@grpc/grpc-js';
import { request, stopChild, type Child } from '@lameduck/test-utils';
import { collect, HealthClient } from './fixtures/demo.js';
import {
  examplePorts,
  ExampleClient,
  insecure,
  ready,
  roundRobinClient,
  slowCall,
  startExample,
} from './fixtures/example.js';

const children: Child[] = [];
const clients: grpc.Client[] = [];
afterEach(async () => {
  for (const made of clients.splice(0)) made.close();
  for (const child of children.splice(0)) await stopChild(child);
});
function started(grpcPort?: number): Child {
  const child = startExample(grpcPort);
  children.push(child);
  return child;
}
function track<T extends grpc.Client>(made: T): T {
  clients.push(made);
  return made;
}
describe('examples/grpc', () => {
  test('a slow call, an event stream and a health Watch across SIGTERM: all end cleanly, exit 0', async () => {
    const child = started();
    const { port, grpcPort } = await examplePorts(child);
    expect(child.events[0]).toEqual({ event: 'listening', port, grpcPort, framework: 'grpc' });
    // Not /readyz: a prober seen makes readinessDelay "auto" wait for its three failures.
    expect((await request(port, { path: '/livez' })).status).toBe(200);
    const address = `127.0.0.1:${grpcPort}`;
    const client = track(new ExampleClient(address, insecure));
    const watch = track(new HealthClient(address, insecure)).watch({ service: 'demo.Demo' });
    const statuses: string[] = [];
    watch.on('data', ({ status }: { status: string }) => statuses.push(status));
    const watched = collect(watch);
    await ready(client);
    const slow = slowCall(client, 500);
    const eventStream = client.events({});
    const firstEvent = new Promise((resolve) => eventStream.once('data', resolve));
    const events = collect(eventStream);
    // One connection carries both calls in order: once the stream's first event is back, the server has the slow call too.
    await firstEvent;
    child.kill('SIGTERM');
    expect(await slow).toEqual({ code: 'OK', message: 'done after 500 ms' });
    const stream = await events;
    expect(stream.code).toBe(grpc.status.OK);
    expect(stream.messages.at(-1)).toMatchObject({ bye: true });
    expect((await watched).code).toBe(grpc.status.OK);
    expect(statuses).toEqual(['SERVING', 'NOT_SERVING']);
    expect(await child.exited).toEqual({ code: 0, signal: null });
  });
});

describe('three instances of examples/grpc behind a client-side round_robin channel', () => {
  test('restarted one at a time under load, default options: no call fails', async () => {
    const ports = (await Promise.all([started(), started(), started()].map(examplePorts))).map((p) => p.grpcPort);
    const client = track(roundRobinClient(ports.map((port) => `127.0.0.1:${port}`)));
    await ready(client);

    // Four callers, each one call of 20 ms at a time: bounded load. The channel retries UNAVAILABLE (see
    // roundRobinClient): a restarted address reconnects only after the channel's reconnect backoff (1 s at
    // first), which can outlast the next restart, and while every address is reconnecting a call fails at
    // pick time, before any server has it ("round_robin: No connection established"; 96 to 232 calls in
    // some runs without the retry policy).
    const outcomes = new Map<string, number>();
    let running = true;
    const caller = async (): Promise<void> => {
      while (running) {
        const { code } = await slowCall(client, 20);
        outcomes.set(code, (outcomes.get(code) ?? 0) + 1);
      }
    };
    const callers = Promise.all(Array.from({ length: 4 }, caller));
    for (let i = 0; i < 3; i++) {
      const old = children[i]!;
      old.kill('SIGTERM');
      expect(await old.exited).toEqual({ code: 0, signal: null });
      // The new instance takes the old one's address, as a restarted pod or systemd unit would.
      const replacement = started(ports[i]);
      expect((await examplePorts(replacement)).grpcPort).toBe(ports[i]);
      children[i] = replacement;
      children.pop();
    }
    running = false;
    await callers;
    expect(Object.fromEntries(outcomes)).toEqual({ OK: expect.any(Number) });
    expect(outcomes.get('OK')).toBeGreaterThan(100);
  }, 60_000);
});
