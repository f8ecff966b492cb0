/** The runnable examples, started exactly as their `start` scripts say, drained by real signals. */
import http from 'node:http';
import { WebSocket } from 'ws';
import { freePort, once, request, type Line, type Reply } from '@lameduck/test-utils';
import {
  eventStream,
  listening,
  RUNTIME,
  RUNTIME_EXAMPLES,
  startActivated,
  startExample,
  stopExamples,
} from './example-process.js';

const agents: http.Agent[] = [];

afterEach(async () => {
  for (const agent of agents.splice(0)) agent.destroy();
  await stopExamples();
});

function keepAliveAgent(): http.Agent {
  const agent = new http.Agent({ keepAlive: true });
  agents.push(agent);
  return agent;
}

/**
 * A GET sent with `Expect: 100-continue`. Node writes `100 Continue` in the same tick as it hands the
 * request to the application, so `read` resolving proves the server has the request in flight.
 */
function tracked(port: number, path: string, agent: http.Agent): { read: Promise<void>; reply: Promise<Reply> } {
  let read!: () => void;
  const continued = new Promise<void>((resolve) => (read = resolve));
  const reply = new Promise<Reply>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent, headers: { expect: '100-continue' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, socket: req.socket! }));
      res.on('error', reject);
    });
    req.on('continue', read);
    req.on('error', reject);
  });
  return { read: continued, reply };
}

const message = (text: string) => (line: Line) => line.msg === text;

describe.each(RUNTIME_EXAMPLES)('examples/%s', (name) => {
  test('serves its routes, then drains on SIGTERM: readiness 503, the slow request completes, exit 0', async () => {
    const example = startExample(name);
    const port = await listening(example);
    expect(example.events[0]).toEqual({ event: 'listening', port, framework: name });
    const probes = keepAliveAgent();
    expect(await request(port, { path: '/', agent: probes })).toMatchObject({ status: 200 });
    expect(await request(port, { path: '/livez', agent: probes })).toMatchObject({ status: 200 });
    expect(await request(port, { path: '/readyz', agent: probes })).toMatchObject({ status: 200 });

    const slow = tracked(port, '/slow?ms=400', keepAliveAgent());
    await slow.read;
    example.process.kill('SIGTERM');
    const started = await example.log(message('shutdown started: readiness fails now'));
    expect(started).toMatchObject({ level: 'info', name: 'lameduck', reason: 'SIGTERM', inflight: 1 });
    // On the probes' kept-alive socket: it is not closed while it has been quiet for less than idleGrace.
    const readiness = await request(port, { path: '/readyz', agent: probes });
    expect(readiness.status).toBe(503);
    expect(JSON.parse(readiness.body)).toMatchObject({ status: 'shutting down', reason: 'SIGTERM' });

    const reply = await slow.reply;
    expect(reply.status).toBe(200);
    expect(reply.headers.connection).toBe('close');
    expect(reply.body).toBe('done after 400 ms\n');
    expect(await example.exited).toEqual({ code: 0, signal: null });
    // Bun and Deno lack some of Node's private HTTP state: one line says what, once (docs/runtimes.md).
    const publicPath = example.logs.filter((line) => String(line.msg).endsWith('followed through public events'));
    expect(publicPath.length).toBe(RUNTIME === 'node' ? 0 : 1);
    expect(example.logs.find((line) => line.msg === 'shutdown complete')).toMatchObject({
      level: 'info',
      reason: 'SIGTERM',
      graceful: true,
      forced: false,
      requests: { completed: 2, rejected: 0 },
    });
  });

  test('a short SHUTDOWN_TIMEOUT_MS still lets an ordinary request finish normally', async () => {
    // 2000 ms, no readiness delay: a 1600 ms drain window, deadlineSignal 320 ms before its end.
    const example = startExample(name, { SHUTDOWN_TIMEOUT_MS: '2000', READINESS_DELAY_MS: '0' });
    const port = await listening(example);
    const slow = tracked(port, '/slow?ms=800', keepAliveAgent());
    await slow.read;
    example.process.kill('SIGTERM');
    expect(await slow.reply).toMatchObject({ status: 200, body: 'done after 800 ms\n' });
    expect(await example.exited).toEqual({ code: 0, signal: null });
  });

  // Bun 1.4.5's server.listen({ fd: 3 }) ignores the descriptor and listens on a new port (docs/runtimes.md).
  (RUNTIME === 'bun' ? test.skip : test)(
    'started by socket activation it serves on the inherited socket, ignoring PORT; SIGTERM drains, exit 0',
    async () => {
      const port = await freePort();
      const example = await startActivated(name, port, { PORT: '0' });
      const reply = await request(port, { path: '/', agent: false }); // waits in the socket's queue meanwhile
      expect(reply).toMatchObject({ status: 200, body: `hello from ${name === 'node-http' ? 'node:http' : name}\n` });
      expect(await listening(example)).toBe(port);
      expect(example.events[0]).toEqual({ event: 'listening', port, framework: name });
      example.process.kill('SIGTERM');
      expect(await example.exited).toEqual({ code: 0, signal: null });
    },
  );

  test('on SIGTERM a WebSocket gets 1001 and an event stream its final event; exit 0', async () => {
    const example = startExample(name);
    const port = await listening(example);
    const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    expect(String((await once(socket, 'message'))[0])).toMatch(/^hello from /);
    const closed = once(socket, 'close');
    const stream = eventStream(port, keepAliveAgent());
    await stream.first;
    example.kill('SIGTERM');

    const [code, reason] = await closed;
    expect([code, String(reason)]).toEqual([1001, 'server shutting down']);
    expect(await stream.text).toMatch(/^data: 0\n\n(data: \d+\n\n)*event: bye\ndata: server shutting down\n\n$/);
    expect(await example.exited).toEqual({ code: 0, signal: null });
  });

  test.each([
    [{ SHUTDOWN_TIMEOUT_MS: 'abc' }, 'SHUTDOWN_TIMEOUT_MS must be a whole number; received "abc"'],
    [{ READINESS_DELAY_MS: '-5' }, 'READINESS_DELAY_MS must be a whole number; received "-5"'],
    [{ PORT: '80x' }, 'PORT must be a whole number; received "80x"'],
    [
      { LISTEN_FDS: 'x', LISTEN_PID: '1' },
      "environment variable LISTEN_FDS must be a whole number; received 'x' (string)",
    ],
    [
      { SHUTDOWN_TIMEOUT_MS: '100', READINESS_DELAY_MS: '5000' },
      'SHUTDOWN_TIMEOUT_MS=100, READINESS_DELAY_MS=5000: lameduck\'s "timeout" must be greater than readinessDelay + cleanupReserve',
    ],
  ])('bad configuration %j: one line on stderr naming it, exit 2, nothing listens', async (env, text) => {
    const example = startExample(name, env);
    expect(await example.exited).toEqual({ code: 2, signal: null });
    expect(example.output.stderr).toHaveLength(1);
    expect(example.output.stderr[0]).toContain(text);
    expect(example.output.stdout).toEqual([]);
  });
});

describe('examples/express', () => {
  test('a second SIGTERM after the repeat window exits 1 at once, without draining', async () => {
    const example = startExample('express', { READINESS_DELAY_MS: '1000', SHUTDOWN_TIMEOUT_MS: '30000' });
    const port = await listening(example);
    const held = tracked(port, '/slow?ms=20000', keepAliveAgent());
    const outcome = held.reply.catch((error: NodeJS.ErrnoException) => error);
    await held.read;
    example.process.kill('SIGTERM');
    await example.log(message('shutdown started: readiness fails now'));
    // Its 300 ms timer starts after the first signal was handled, so once it answers the child is past
    // the 250 ms repeat window; the 20 s request keeps it draining until the second signal.
    const timer = await request(port, { path: '/slow?ms=300', agent: false });
    expect(timer).toMatchObject({ status: 200, body: 'done after 300 ms\n', headers: { connection: 'close' } });
    example.process.kill('SIGTERM');

    expect(await example.exited).toEqual({ code: 1, signal: null });
    expect(((await outcome) as NodeJS.ErrnoException).code).toBe('ECONNRESET');
    const forced = await example.log(message('second signal: exiting now without draining'));
    expect(forced).toMatchObject({ level: 'error', signal: 'SIGTERM', inflight: 1 });
    expect(forced.requests).toEqual([
      { method: 'GET', url: '/slow?ms=20000', age: expect.any(Number), olderThanShutdown: true },
    ]);
    expect(example.logs.filter((line) => line.msg === 'shutdown complete')).toEqual([]);
  });

  test('default options, no probe ever made: SIGINT with nothing in flight skips the lame-duck phase and exits 0', async () => {
    // No lameduck variable set: every option at its default (readinessDelay "auto").
    const example = startExample('express', { READINESS_DELAY_MS: '', SHUTDOWN_TIMEOUT_MS: '' });
    const port = await listening(example);
    expect(await request(port, { path: '/', agent: false })).toMatchObject({ status: 200 });
    example.process.kill('SIGINT');
    expect(await example.exited).toEqual({ code: 0, signal: null });
    expect(await example.log(message('shutdown started: readiness fails now'))).toMatchObject({
      reason: 'SIGINT',
      readinessDelay: 'auto',
      lameDuckMode: 'no probers',
      probers: [],
      inflight: 0,
    });
    const complete = await example.log(message('shutdown complete'));
    expect(complete).toMatchObject({ graceful: true, exitCode: 0, durations: { lameDuck: 0 } });
  });
});
