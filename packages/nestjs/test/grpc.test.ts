/**
 * A hybrid Nest app's gRPC microservice (`connectMicroservice({ transport: Transport.GRPC })`), drained by
 * `gracefulGrpc()` under LameduckModule's manager: a real child process, a real SIGTERM, real grpc-js
 * clients, on Nest 11 and 12; and against Nest's own close, which cancels the calls in flight.
 */
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { service as HealthService } from 'grpc-health-check';
import { setTimeout as delay } from 'node:timers/promises';
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { GrpcMethod, Transport, type GrpcOptions } from '@nestjs/microservices';
import { deferred, freePort, request, spawnChild, stopChild, type Child, type Line } from '@lameduck/test-utils';
import { createLameduck, LameduckModule, setupLameduck, type Lameduck } from '../src/index.js';
import { gracefulGrpc } from '../src/grpc.js';

const PACKAGE = join(__dirname, '..');
const FIXTURE = join(__dirname, 'fixtures', 'grpc-app.ts');
const STANDALONE = join(__dirname, 'fixtures', 'grpc-standalone.ts');
const PROTO = join(__dirname, '..', '..', '..', 'examples', 'grpc', 'src', 'demo.proto');
const VERSION_HOOK = join(__dirname, 'fixtures', 'nest-version.mjs');
const NEST_VERSIONS = [
  { nest: 11, env: {} as Record<string, string> },
  { nest: 12, env: { NEST_FROM: join(__dirname, 'nest-12') } },
];
const insecure = grpc.credentials.createInsecure();

type Status = { code: grpc.status; details?: string };
interface DemoClient extends grpc.Client {
  slow(request: { ms: number }, callback: (error: grpc.ServiceError | null, reply?: { message: string }) => void): void;
  events(request: object): grpc.ClientReadableStream<{ n?: number; bye?: boolean }>;
}
interface HealthClient extends grpc.Client {
  watch(request: { service: string }): grpc.ClientReadableStream<{ status: string }>;
}
const demo = grpc.loadPackageDefinition(loadSync(PROTO)) as unknown as {
  demo: { Demo: new (address: string, credentials: grpc.ChannelCredentials) => DemoClient };
};
const Health = grpc.makeClientConstructor(HealthService, 'Health') as unknown as new (
  address: string,
  credentials: grpc.ChannelCredentials,
) => HealthClient;

const children: Child[] = [];
const clients: grpc.Client[] = [];
afterEach(async () => {
  for (const made of clients.splice(0)) made.close();
  for (const child of children.splice(0)) await stopChild(child);
});

async function start(env: Record<string, string>, options: object, fixture = FIXTURE) {
  const grpcPort = await freePort();
  const child = spawnChild(['--conditions=@lameduck/source', '--import', 'tsx', '--import', VERSION_HOOK, fixture], {
    cwd: PACKAGE,
    env: { ...env, GRPC_PORT: String(grpcPort), LAMEDUCK_OPTIONS: JSON.stringify(options) },
  });
  children.push(child);
  const listening = await child.event((line) => line.event === 'listening');
  const address = `127.0.0.1:${grpcPort}`;
  const client = new demo.demo.Demo(address, insecure);
  const health = new Health(address, insecure);
  clients.push(client, health);
  return { child, port: listening.port as number, nest: listening.nest as string, client, health };
}

function slowCall(client: DemoClient, ms: number): Promise<Status & { reply?: { message: string } }> {
  return new Promise((resolve) =>
    client.slow({ ms }, (error, reply) =>
      resolve(error ? { code: error.code, details: error.details } : { code: grpc.status.OK, reply }),
    ),
  );
}

function collect<T>(stream: grpc.ClientReadableStream<T>): Promise<Status & { messages: T[] }> {
  const messages: T[] = [];
  stream.on('data', (message: T) => messages.push(message));
  stream.on('error', () => {}); // the status says it
  return new Promise((resolve) =>
    stream.on('status', (status: grpc.StatusObject) =>
      resolve({ messages, code: status.code, details: status.details }),
    ),
  );
}

const called = (path: string) => (line: Line) => line.event === 'call' && line.path === path;
const message = (text: string) => (line: Line) => line.msg === text;

/** A unary call (800 ms), a server stream and a health Watch, in flight once the app has seen both calls. */
async function callsInFlight({ client, health, child }: Awaited<ReturnType<typeof start>>) {
  const statuses: string[] = [];
  const watch = health.watch({ service: 'demo.Demo' });
  watch.on('data', ({ status }: { status: string }) => statuses.push(status));
  const watched = collect(watch);
  const slow = slowCall(client, 800);
  const events = collect(client.events({}));
  await Promise.all([child.event(called('/demo.Demo/Slow')), child.event(called('/demo.Demo/Events'))]);
  /** Each ended OK: the unary call replied, the stream sent its last event, the Watch heard NOT_SERVING. */
  return async (): Promise<void> => {
    expect(await slow).toEqual({ code: grpc.status.OK, reply: { message: 'slept 800 ms' } });
    const stream = await events;
    expect(stream.code).toBe(grpc.status.OK);
    expect(stream.messages.at(-1)).toEqual({ bye: true });
    expect((await watched).code).toBe(grpc.status.OK);
    expect(statuses).toEqual(['SERVING', 'NOT_SERVING']);
  };
}

/** Exit 0, and a graceful result that counts the three calls. */
async function exitedGracefully(child: Child): Promise<void> {
  expect(await child.exited).toEqual({ code: 0, signal: null });
  const result = await child.log(message('shutdown complete'));
  expect(result).toMatchObject({ graceful: true, forced: false, requests: { rejected: 0, lost: 0 } });
  expect((result.requests as { completed: number }).completed).toBeGreaterThanOrEqual(3);
}

describe.each(NEST_VERSIONS)('Nest $nest, SIGTERM', ({ nest, env }) => {
  test('gracefulGrpc: a unary call, a server stream and a health Watch in flight all end OK; HTTP readiness fails first; exit 0', async () => {
    const app = await start({ ...env, GRACEFUL: '1' }, { readinessDelay: 400, timeout: 5_000 });
    expect(app.nest).toMatch(new RegExp(`^${nest}\\.`));
    const endedOk = await callsInFlight(app);

    app.child.kill('SIGTERM');
    await app.child.log(message('shutdown started: readiness fails now'));
    // One manager: the HTTP probe reflects the gRPC server's state, and the health service says so too.
    expect((await request(app.port, { path: '/readyz' })).status).toBe(503);
    await endedOk();
    await exitedGracefully(app.child);
  });

  test("without it (Nest's own close, forceShutdown()): the unary call in flight is cancelled", async () => {
    const app = await start({ ...env, GRACEFUL: '0' }, { readinessDelay: 0, timeout: 5_000 });
    const slow = slowCall(app.client, 800);
    await app.child.event(called('/demo.Demo/Slow'));
    app.child.kill('SIGTERM');
    expect((await slow).code).toBe(grpc.status.CANCELLED);
    expect(await app.child.exited).toEqual({ code: 0, signal: null });
  });

  test('a stream that never ends is cancelled at the deadline and named; exit 1', async () => {
    const app = await start(
      { ...env, GRACEFUL: '1', FOREVER: '1' },
      { readinessDelay: 0, timeout: 1_000, cleanupReserve: 200 },
    );
    const forever = collect(app.client.events({}));
    await app.child.event(called('/demo.Demo/Events'));
    app.child.kill('SIGTERM');
    expect(await app.child.exited).toEqual({ code: 1, signal: null });
    expect(await app.child.log(message('request forced at the deadline'))).toMatchObject({
      method: 'gRPC',
      url: '/demo.Demo/Events',
    });
    expect((await forever).code).not.toBe(grpc.status.OK);
  });
});

describe.each(NEST_VERSIONS)(
  'Nest $nest, a standalone microservice (createMicroservice()), SIGTERM',
  ({ nest, env }) => {
    test('gracefulGrpc(lameduck): a unary call, a server stream and a health Watch in flight all end OK; Nest closes after the drain; exit 0', async () => {
      const app = await start({ ...env, GRACEFUL: '1' }, { readinessDelay: 300, timeout: 5_000 }, STANDALONE);
      expect(app.nest).toMatch(new RegExp(`^${nest}\\.`));
      const endedOk = await callsInFlight(app);

      app.child.kill('SIGTERM');
      await endedOk();
      // Nest's own close (its hooks, then its forceShutdown() of a server already closed) runs as cleanup.
      expect(await app.child.event((line) => line.event === 'hook')).toMatchObject({ state: 'cleanup' });
      await exitedGracefully(app.child);
    });

    test('a programmatic app.close() drains first too: the unary call in flight ends OK; exit 0', async () => {
      const app = await start({ ...env, GRACEFUL: '1', CLOSE_ON_CALL: '1' }, { timeout: 5_000 }, STANDALONE);
      expect(await slowCall(app.client, 300)).toEqual({ code: grpc.status.OK, reply: { message: 'slept 300 ms' } });
      expect(await app.child.event((line) => line.event === 'hook')).toMatchObject({ state: 'cleanup' });
      expect(await app.child.exited).toEqual({ code: 0, signal: null });
    });

    test("without it (Nest's own enableShutdownHooks()): the unary call in flight is cancelled", async () => {
      const app = await start({ ...env, GRACEFUL: '0' }, {}, STANDALONE);
      const slow = slowCall(app.client, 800);
      await app.child.event(called('/demo.Demo/Slow'));
      app.child.kill('SIGTERM');
      expect((await slow).code).toBe(grpc.status.CANCELLED);
      await app.child.exited;
    });
  },
);

describe('gracefulGrpc(app, options)', () => {
  @Module({})
  class Bare {}
  @Module({ imports: [LameduckModule.forRoot({ silent: true, handleSignals: false })] })
  class WithLameduck {}
  const grpcOptions: GrpcOptions = { transport: Transport.GRPC, options: { package: 'demo', protoPath: 'demo.proto' } };

  test('an application without LameduckModule: an error that says what to add', async () => {
    const app = await NestFactory.createApplicationContext(Bare, { logger: false });
    expect(() => gracefulGrpc(app, grpcOptions)).toThrow(
      expect.objectContaining({
        code: 'LAMEDUCK_INVALID_ARGUMENT',
        message: expect.stringContaining('gracefulGrpc(app): this application does not import LameduckModule'),
      }),
    );
    await app.close();
  });

  test('another transport: an error naming the option and what it received', async () => {
    const app = await NestFactory.createApplicationContext(WithLameduck, { logger: false });
    // A JavaScript caller, or options typed loosely: the types alone take only Transport.GRPC.
    const tcp = { transport: Transport.TCP, options: {} } as unknown as GrpcOptions;
    expect(() => gracefulGrpc(app, tcp)).toThrow(
      expect.objectContaining({
        code: 'LAMEDUCK_INVALID_OPTION',
        message: expect.stringMatching(/transport.*received 0/),
      }),
    );
    await app.close();
  });

  test("keeps the application's own options: its interceptors after lameduck's, its onLoadPackageDefinition called", async () => {
    const app = await NestFactory.createApplicationContext(WithLameduck, { logger: false });
    const mine: grpc.ServerInterceptor = (_descriptor, call) => new grpc.ServerInterceptingCall(call);
    const loaded: unknown[] = [];
    const options = gracefulGrpc(app, {
      transport: Transport.GRPC,
      options: {
        package: 'demo',
        channelOptions: { 'grpc.max_receive_message_length': 1024, interceptors: [mine] },
        onLoadPackageDefinition: (_pkg: unknown, server: unknown) => loaded.push(server),
      },
    });
    const channelOptions = options.options.channelOptions as grpc.ServerOptions & { interceptors: unknown[] };
    expect(channelOptions).toMatchObject({ 'grpc.max_receive_message_length': 1024 });
    expect(channelOptions.interceptors).toHaveLength(2);
    expect(channelOptions.interceptors[1]).toBe(mine);
    const server = new grpc.Server(channelOptions);
    options.options.onLoadPackageDefinition!({}, server);
    expect(loaded).toEqual([server]);
    expect(app.get<{ stats(): { servers: number } }>('@lameduck/nestjs:Lameduck').stats().servers).toBe(1);
    await app.close();
  });
});

describe('app.close()', () => {
  let arrived = deferred();
  beforeEach(() => {
    arrived = deferred();
  });
  @Controller()
  class SlowController {
    @GrpcMethod('Demo', 'Slow')
    async slow({ ms }: { ms: number }): Promise<{ message: string }> {
      arrived.resolve();
      await delay(ms);
      return { message: `slept ${ms} ms` };
    }
  }
  @Module({ imports: [LameduckModule.forRoot({ silent: true, handleSignals: false })], controllers: [SlowController] })
  class Hybrid {}
  const shared = createLameduck({ silent: true });
  @Module({
    imports: [LameduckModule.forRoot({ lameduck: shared, handleSignals: false })],
    controllers: [SlowController],
  })
  class Standalone {}

  /** A unary call of 300 ms in flight on `address` when `app.close()` is called: it ends OK, counted by the drain. */
  async function closeWithCallInFlight(app: { close(): Promise<void> }, lameduck: Lameduck, address: string) {
    const client = new demo.demo.Demo(address, insecure);
    clients.push(client);
    const slow = slowCall(client, 300);
    await arrived.promise;
    expect(lameduck.stats().inflight).toBe(1);
    await app.close();
    expect(await slow).toEqual({ code: grpc.status.OK, reply: { message: 'slept 300 ms' } });
    // Counted by the drain as a call completed while closing, not cancelled by Nest's forceShutdown().
    expect(lameduck.stats().requests).toEqual({ completed: 1, rejected: 0, forced: 0 });
  }

  test('a hybrid application drains the gRPC microservice first, then Nest closes it', async () => {
    const app = await NestFactory.create(Hybrid, { logger: false });
    const lameduck = setupLameduck(app);
    const address = `127.0.0.1:${await freePort()}`;
    app.connectMicroservice<GrpcOptions>(
      gracefulGrpc(app, { transport: Transport.GRPC, options: { package: 'demo', protoPath: PROTO, url: address } }),
    );
    await app.startAllMicroservices();
    await app.listen(0, '127.0.0.1');
    await closeWithCallInFlight(app, lameduck, address);
  });

  test('a standalone microservice drains first, then Nest closes it', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const app = await NestFactory.createMicroservice<GrpcOptions>(Standalone, {
      ...gracefulGrpc(shared, {
        transport: Transport.GRPC,
        options: { package: 'demo', protoPath: PROTO, url: address },
      }),
      logger: false,
    });
    expect(setupLameduck(app)).toBe(shared);
    await app.listen();
    await closeWithCallInFlight(app, shared, address);
    // Nest's close ran as the shutdown's cleanup; the shutdown it started ends with it.
    expect(await shared.shutdown()).toMatchObject({ graceful: true, forced: false });
  });
});
