/** examples/hono on `Bun.serve` and `Deno.serve`, started as its scripts say, drained by real signals. */
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import {
  exampleCommand,
  once,
  request,
  spawnChild,
  stopChild,
  type Child,
  type Line,
  type Runtime,
} from '@lameduck/test-utils';
import { eventStream } from './example-process.js';

const ROOT = join(__dirname, '..', '..', '..');
const ENV = { PORT: '0', HOST: '127.0.0.1', READINESS_DELAY_MS: '200', SHUTDOWN_TIMEOUT_MS: '10000' };
const children: Child[] = [];
const agents: http.Agent[] = [];

afterEach(async () => {
  for (const agent of agents.splice(0)) agent.destroy();
  for (const child of children.splice(0)) await stopChild(child);
});

/** Runs examples/hono's `start:<runtime>` script on the runtime's binary. */
function startOn(runtime: Runtime, env: Record<string, string> = {}): Child {
  const { cwd, args, command } = exampleCommand(ROOT, `hono-${runtime}`);
  const child = spawnChild(args, { command, cwd, env: { ...ENV, ...env } });
  children.push(child);
  return child;
}

async function listening(child: Child): Promise<number> {
  return (await child.event((line) => line.event === 'listening')).port as number;
}

function keepAlive(): http.Agent {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  agents.push(agent);
  return agent;
}

/** Resolves once the example counts `count` requests in flight besides the scrape of its /metrics that asks. */
async function inflight(port: number, count: number): Promise<void> {
  for (let tries = 0; tries < 500; tries++) {
    const { body } = await request(port, { path: '/metrics', agent: false });
    if (new RegExp(`^lameduck_inflight_requests ${count + 1}$`, 'm').test(body)) return;
  }
  throw new Error(`never saw ${count} requests in flight`);
}

const message = (text: string) => (line: Line) => line.msg === text;

describe.each<Runtime>(['bun', 'deno'])('examples/hono on %s', (runtime) => {
  test('SIGTERM: readiness 503 while serving on, the slow request completes closing its connection, exit 0', async () => {
    // Three requests must land in the lame-duck phase after its log line: 200 ms was too short for Deno on a
    // loaded CI machine (the listener had closed: ECONNREFUSED).
    const example = startOn(runtime, { READINESS_DELAY_MS: '1000' });
    const port = await listening(example);
    expect(example.events[0]).toEqual({ event: 'listening', port, framework: 'hono' });
    const probes = keepAlive();
    expect(await request(port, { path: '/', agent: probes })).toMatchObject({ status: 200, body: 'hello from hono\n' });
    expect(await request(port, { path: '/readyz', agent: probes })).toMatchObject({ status: 200 });

    const slow = request(port, { path: '/slow?ms=600', agent: keepAlive() });
    await inflight(port, 1);
    example.kill('SIGTERM');
    await example.log(message('shutdown started: readiness fails now'));
    // The lame-duck phase: readiness fails, liveness passes, requests are still served, each closing its connection.
    const readiness = await request(port, { path: '/readyz', agent: false });
    expect(readiness.status).toBe(503);
    expect(JSON.parse(readiness.body)).toMatchObject({ status: 'shutting down', reason: 'SIGTERM' });
    expect(await request(port, { path: '/livez', agent: false })).toMatchObject({ status: 200 });
    const late = await request(port, { path: '/', agent: keepAlive() });
    expect(late).toMatchObject({ status: 200, body: 'hello from hono\n' });
    expect(late.headers.connection).toBe('close');
    expect(late.headers['content-type']).toMatch(/^text\/plain/);

    const reply = await slow;
    expect(reply).toMatchObject({ status: 200, body: 'done after 600 ms\n' });
    expect(reply.headers).toMatchObject({ connection: 'close' });
    expect(await example.exited).toEqual({ code: 0, signal: null });
    expect(await example.log(message('shutdown complete'))).toMatchObject({
      graceful: true,
      forced: false,
      exitCode: 0,
      requests: { completed: 2, rejected: 0, lost: 0 },
    });
  });

  test('an idle keep-alive connection does not hold the drain: exit 0 long before the keep-alive timeout', async () => {
    const example = startOn(runtime, { READINESS_DELAY_MS: '0' });
    const port = await listening(example);
    const socket = net.connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write('GET / HTTP/1.1\r\nHost: example\r\n\r\n');
    await once(socket, 'data');
    const closed = once(socket, 'close');
    const signalled = performance.now();
    example.kill('SIGTERM');
    await closed;
    expect(await example.exited).toEqual({ code: 0, signal: null });
    expect(performance.now() - signalled).toBeLessThan(3_000);
  });

  test('on SIGTERM a WebSocket gets 1001 and an event stream its final event; exit 0', async () => {
    const example = startOn(runtime);
    const port = await listening(example);
    const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    expect(String((await once(socket, 'message'))[0])).toBe('hello from hono');
    const closed = once(socket, 'close');
    const stream = eventStream(port, keepAlive());
    await stream.first;
    example.kill('SIGTERM');

    const [code, reason] = await closed;
    // Deno's WebSocket capitalises the reason's first letter as it sends the close frame.
    expect([code, String(reason).toLowerCase()]).toEqual([1001, 'server shutting down']);
    expect(await stream.text).toMatch(/^data: 0\n\n(data: \d+\n\n)*event: bye\ndata: server shutting down\n\n$/);
    expect(await example.exited).toEqual({ code: 0, signal: null });
  });
});
