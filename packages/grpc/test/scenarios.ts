/** The in-process scenarios, run against each grpc-js version tested: health, drain, streams, the deadline, the last stretch. */
import http from 'node:http';
import { setTimeout } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { createLameduck, DRAINABLE } from '@lameduck/core';
import { createGrpcDrain } from '@lameduck/grpc';
import { deferred, listen, request } from '@lameduck/test-utils';
import {
  collect,
  DemoClient,
  DemoService,
  demoHandlers,
  HealthClient,
  slowCall,
  startDemo,
  type Event,
  clientPool,
} from './fixtures/demo.js';

const { client, closeAll } = clientPool();

const quick = { silent: true, readinessDelay: 0, timeout: 3_000 } as const;

/** Resolves with the path of each call once its handler has started. */
function callsSeen(): { onCall: (path: string) => void; next: (path: string) => Promise<void> } {
  const waiting = new Map<string, (() => void)[]>();
  return {
    onCall(path) {
      for (const wake of waiting.get(path)?.splice(0) ?? []) wake();
    },
    next: (path) => new Promise((resolve) => waiting.set(path, [...(waiting.get(path) ?? []), resolve])),
  };
}

/** Every scenario, with real grpc-js clients of the version `@grpc/grpc-js` resolves to in this test file. */
export function drainScenarios(): void {
  afterEach(() => {
    closeAll();
  });

  test('lame duck: health says NOT_SERVING for "" and every service, Watch told at once, calls still served; then Watch ends', async () => {
    const lameduck = createLameduck({ ...quick });
    const demo = await startDemo(lameduck);
    const health = client(HealthClient, demo.address);
    const demoClient = client(DemoClient, demo.address);
    const watch = health.watch({ service: '' });
    const statuses: string[] = [];
    const serving = deferred<void>();
    const notServing = deferred<void>();
    watch.on('data', ({ status }: { status: string }) => {
      statuses.push(status);
      if (status === 'SERVING') serving.resolve();
      if (status === 'NOT_SERVING') notServing.resolve();
    });
    const watched = collect(watch);
    await serving.promise;

    const result = lameduck.shutdown('test', { readinessDelay: 400 });
    await notServing.promise;
    expect(lameduck.state).toBe('lameduck');
    const check = (service: string) =>
      new Promise<string | undefined>((resolve) =>
        health.check({ service }, (_error, reply) => resolve(reply?.status)),
      );
    expect(await check('')).toBe('NOT_SERVING');
    expect(await check('demo.Demo')).toBe('NOT_SERVING');
    expect(await slowCall(demoClient, 10)).toEqual({ code: grpc.status.OK, reply: { done: 10 } });

    expect(await watched).toMatchObject({ code: grpc.status.OK, details: 'server shutting down' });
    expect(statuses).toEqual(['SERVING', 'NOT_SERVING']);
    expect(await result).toMatchObject({ graceful: true, exitCode: 0, forced: false });
  });

  test('readinessDelay "auto": a checker polling health Check before the signal holds the listener open until its NOT_SERVING answers', async () => {
    const lameduck = createLameduck({ ...quick, readinessDelay: 'auto', readinessFailures: 2, minReadinessDelay: 0 });
    const demo = await startDemo(lameduck);
    const health = client(HealthClient, demo.address);
    const demoClient = client(DemoClient, demo.address);
    expect(await slowCall(demoClient, 1)).toEqual({ code: grpc.status.OK, reply: { done: 1 } });
    const check = () =>
      new Promise<string | undefined>((resolve) =>
        health.check({ service: '' }, (_error, reply) => resolve(reply?.status)),
      );
    for (let count = 0; count < 3; count++) {
      expect(await check()).toBe('SERVING');
      // The checker's rhythm (every 100 ms), which lameduck learns; not a wait for anything.
      await setTimeout(100);
    }
    const started = performance.now();
    const result = lameduck.shutdown('SIGTERM');
    expect(lameduck.state).toBe('lameduck');
    expect(await check()).toBe('NOT_SERVING');
    await setTimeout(100);
    // One NOT_SERVING of two: the listener is still open, and a call is served.
    expect(lameduck.state).toBe('lameduck');
    expect(await slowCall(demoClient, 1)).toEqual({ code: grpc.status.OK, reply: { done: 1 } });
    expect(await check()).toBe('NOT_SERVING');
    const secondAnswered = performance.now() - started;
    // Open past the second, for one of the checker's intervals (about 100 ms) to act on it.
    const { durations, graceful } = await result;
    expect(graceful).toBe(true);
    expect(durations.lameDuck).toBeGreaterThanOrEqual(Math.floor(secondAnswered));
  });

  test('readinessDelay "auto": the kubelet\'s gRPC probe (kube-probe/…) does not hold the listener open, as over HTTP', async () => {
    const lameduck = createLameduck({ ...quick, readinessDelay: 'auto', minReadinessDelay: 0 });
    const demo = await startDemo(lameduck);
    const kubelet = client(HealthClient, demo.address, { 'grpc.primary_user_agent': 'kube-probe/1.34' });
    for (let count = 0; count < 3; count++) {
      const status = await new Promise((resolve) =>
        kubelet.check({ service: '' }, (_error, reply) => resolve(reply?.status)),
      );
      expect(status).toBe('SERVING');
      // The kubelet's rhythm; not a wait for anything.
      await setTimeout(100);
    }
    const result = lameduck.shutdown('SIGTERM');
    expect(lameduck.state).toBe('draining');
    expect(await result).toMatchObject({ graceful: true, durations: { lameDuck: 0 } });
  });

  test('readinessDelay "auto" with nobody checking health: the listener closes at once', async () => {
    const lameduck = createLameduck({ ...quick, readinessDelay: 'auto', minReadinessDelay: 0 });
    const demo = await startDemo(lameduck);
    expect(await slowCall(client(DemoClient, demo.address), 1)).toEqual({ code: grpc.status.OK, reply: { done: 1 } });
    const result = lameduck.shutdown('SIGTERM');
    expect(lameduck.state).toBe('draining');
    expect(await result).toMatchObject({ graceful: true, durations: { lameDuck: 0 } });
  });

  test('drain: unary calls in flight finish, server and client streams end on drainSignal, the listener closes', async () => {
    const lameduck = createLameduck(quick);
    const seen = callsSeen();
    const demo = await startDemo(lameduck, seen.onCall);
    const demoClient = client(DemoClient, demo.address);

    const started = Promise.all([
      seen.next('/demo.Demo/Slow'),
      seen.next('/demo.Demo/Events'),
      seen.next('/demo.Demo/Upload'),
    ]);
    const slow = slowCall(demoClient, 300);
    const events = collect(demoClient.events({ every: 20 }));
    const uploaded = new Promise<unknown>((resolve) => {
      const upload = demoClient.upload((error, reply) => resolve(error ? error.code : reply));
      upload.write({});
    });
    await started;
    expect(lameduck.stats().inflight).toBe(3);

    const result = await lameduck.shutdown();
    expect(await slow).toEqual({ code: grpc.status.OK, reply: { done: 300 } });
    const stream = await events;
    expect(stream.code).toBe(grpc.status.OK);
    expect(stream.messages.at(-1)).toEqual<Event>({ bye: true });
    expect(await uploaded).toEqual({ count: 1 });
    expect(result).toMatchObject({ graceful: true, exitCode: 0, requests: { completed: 3, rejected: 0, lost: 0 } });

    // The listener is closed: a new channel is refused.
    const late = client(DemoClient, demo.address);
    expect((await slowCall(late, 1)).code).toBe(grpc.status.UNAVAILABLE);
  });

  test('a stream that never ends is cancelled at the deadline and named with its age; exit code 1', async () => {
    const lameduck = createLameduck({ ...quick, timeout: 700, cleanupReserve: 100, abortBefore: 100 });
    const seen = callsSeen();
    const demo = await startDemo(lameduck, seen.onCall);
    const demoClient = client(DemoClient, demo.address);
    const started = seen.next('/demo.Demo/Events');
    const forever = collect(demoClient.events({ every: 50, forever: true }));
    await started;

    const result = await lameduck.shutdown();
    expect(result).toMatchObject({ graceful: false, forced: true, exitCode: 1, destroyedConnections: 1 });
    expect(result.stuckRequests).toEqual([{ method: 'gRPC', url: '/demo.Demo/Events', age: expect.any(Number) }]);
    // The drain window is 600 ms; Node's timers count whole milliseconds of the loop's time, so the
    // deadline can fire up to 1 ms short of 600 ms by performance.now().
    expect(result.stuckRequests[0]!.age).toBeGreaterThanOrEqual(599);
    const stream = await forever;
    expect(stream.messages.length).toBeGreaterThan(0);
    expect([grpc.status.CANCELLED, grpc.status.UNAVAILABLE, grpc.status.INTERNAL]).toContain(stream.code);
  });

  test('beside an HTTP server: one readiness, one drain, one result', async () => {
    const lameduck = createLameduck({ ...quick });
    const httpServer = http.createServer((req, res) => {
      if (lameduck.handle(req, res)) return;
      res.end('ok');
    });
    lameduck.attach(httpServer);
    const httpPort = await listen(httpServer);
    const seen = callsSeen();
    const demo = await startDemo(lameduck, seen.onCall);
    expect(lameduck.stats().servers).toBe(2);
    expect((await request(httpPort, { path: '/readyz' })).status).toBe(200);

    const started = seen.next('/demo.Demo/Slow');
    const slow = slowCall(client(DemoClient, demo.address), 500);
    await started;
    const lameDucking = deferred<void>();
    lameduck.onStateChange((state) => state === 'lameduck' && lameDucking.resolve());
    const result = lameduck.shutdown('test', { readinessDelay: 200 });
    await lameDucking.promise;
    expect((await request(httpPort, { path: '/readyz' })).status).toBe(503);
    expect(await slow).toMatchObject({ code: grpc.status.OK });
    // The gRPC call and the HTTP probe, in one count.
    expect(await result).toMatchObject({ graceful: true, requests: { completed: 2 } });
    expect(httpServer.listening).toBe(false);
  });

  test('the last stretch: a call that still reaches the server is answered UNAVAILABLE through manager.reject(), counted', async () => {
    // GOAWAY keeps new calls off a draining server, so a real manager's last stretch is hard to reach with
    // a real client; the target is driven by a manager view already in its last stretch instead.
    const lameduck = createLameduck(quick);
    const graceful = createGrpcDrain();
    const server = new grpc.Server(graceful.serverOptions());
    server.addService(DemoService, demoHandlers(lameduck));
    const aborted = AbortSignal.abort();
    graceful(server)[DRAINABLE]({
      state: 'draining',
      drainSignal: aborted,
      deadlineSignal: aborted,
      reject: () => lameduck.reject(),
      probed: () => {},
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
    const answer = await slowCall(client(DemoClient, `127.0.0.1:${port}`), 1);
    expect(answer).toEqual({ code: grpc.status.UNAVAILABLE, details: 'server shutting down' });
    expect(lameduck.stats().requests.rejected).toBe(1);
    server.forceShutdown();
  });

  test('a server built without serverOptions() is refused with a coded error', () => {
    const graceful = createGrpcDrain();
    expect(() => graceful(new grpc.Server())).toThrow(expect.objectContaining({ code: 'LAMEDUCK_INVALID_ARGUMENT' }));
    expect(() => createGrpcDrain({ health: {} as never })).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_INVALID_OPTION', option: 'health' }),
    );
  });
}
