/** A real process, a real SIGTERM, real grpc-js clients: what they see, and the exit code. */
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { spawnChild, stopChild, type Child, type Line } from '@lameduck/test-utils';
import { clientPool, collect, DemoClient, HealthClient, slowCall } from './fixtures/demo.js';

const children: Child[] = [];
const { client, closeAll } = clientPool();
afterEach(async () => {
  closeAll();
  for (const child of children.splice(0)) await stopChild(child);
});

async function start(options: Record<string, unknown>): Promise<{ child: Child; address: string }> {
  const child = spawnChild(
    ['--conditions=@lameduck/source', '--import', 'tsx', join(__dirname, 'fixtures', 'server.ts')],
    {
      env: { LAMEDUCK_OPTIONS: JSON.stringify(options) },
    },
  );
  children.push(child);
  const { port } = await child.event((line) => line.event === 'listening');
  return { child, address: `127.0.0.1:${port as number}` };
}
const called = (path: string) => (line: Line) => line.event === 'call' && line.path === path;
const message = (text: string) => (line: Line) => line.msg === text;

describe('SIGTERM', () => {
  test('a unary call, a server stream and a health Watch in flight: all end cleanly, exit 0', async () => {
    const { child, address } = await start({ readinessDelay: 200, timeout: 5_000 });
    const demo = client(DemoClient, address);
    const watch = client(HealthClient, address).watch({ service: 'demo.Demo' });
    const statuses: string[] = [];
    watch.on('data', ({ status }: { status: string }) => statuses.push(status));
    const watched = collect(watch);
    const slow = slowCall(demo, 600);
    const events = collect(demo.events({ every: 50 }));
    await Promise.all([child.event(called('/demo.Demo/Slow')), child.event(called('/demo.Demo/Events'))]);

    child.kill('SIGTERM');
    expect(await slow).toEqual({ code: grpc.status.OK, reply: { done: 600 } });
    const stream = await events;
    expect(stream.code).toBe(grpc.status.OK);
    expect(stream.messages.at(-1)).toEqual({ bye: true });
    expect((await watched).code).toBe(grpc.status.OK);
    expect(statuses).toEqual(['SERVING', 'NOT_SERVING']);
    expect(await child.exited).toEqual({ code: 0, signal: null });
    const result = await child.log(message('shutdown complete'));
    expect(result).toMatchObject({ graceful: true, forced: false, requests: { rejected: 0, lost: 0 } });
    expect((result.requests as { completed: number }).completed).toBeGreaterThanOrEqual(3);
  });

  test('a stream that never ends is cancelled at the deadline, named in the log, exit 1', async () => {
    const { child, address } = await start({ readinessDelay: 0, timeout: 800, cleanupReserve: 100 });
    const forever = collect(client(DemoClient, address).events({ every: 50, forever: true }));
    await child.event(called('/demo.Demo/Events'));
    child.kill('SIGTERM');
    expect(await child.exited).toEqual({ code: 1, signal: null });
    expect(await child.log(message('request forced at the deadline'))).toMatchObject({
      method: 'gRPC',
      url: '/demo.Demo/Events',
    });
    expect((await forever).code).not.toBe(grpc.status.OK);
  });

  test('a client that keeps calling on its old channel: served until the drain, then UNAVAILABLE, never hung or reset', async () => {
    const { child, address } = await start({ readinessDelay: 300, timeout: 5_000 });
    const demo = client(DemoClient, address);
    let exited = false;
    void child.exited.then(() => (exited = true));
    const caller = async (): Promise<string> => {
      const codes: string[] = [];
      while (!exited) codes.push(grpc.status[(await slowCall(demo, 5)).code]);
      return codes.join(' ');
    };
    const callers = Promise.all([caller(), caller()]);
    await child.event((line) => line.event === 'call');
    child.kill('SIGTERM');
    expect(await child.exited).toEqual({ code: 0, signal: null });
    // Each caller: served (OK) through the lame-duck phase, then refused (UNAVAILABLE) once the listener closed;
    // no call cancelled, reset or left hanging, and none served after the first refusal.
    for (const codes of await callers) expect(codes).toMatch(/^(OK )+UNAVAILABLE( UNAVAILABLE)*$/);
    expect(await child.log(message('shutdown complete'))).toMatchObject({
      graceful: true,
      requests: { rejected: 0, lost: 0 },
    });
  });
});
