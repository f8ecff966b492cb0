/** Real child processes, real signals: the exit code and what the process logs are the product. */
import http from 'node:http';
import { once, request, stopChild, type Child, type Line } from '@lameduck/test-utils';
import { ports, spawnFixture } from './helpers.js';

const FAST = { readinessDelay: 0, timeout: 5_000, cleanupReserve: 1_000, idleGrace: 20 };

const children: Child[] = [];
const agents: http.Agent[] = [];
function start(env: Record<string, string>): Child {
  const child = spawnFixture('server', env);
  children.push(child);
  return child;
}
afterEach(async () => {
  for (const agent of agents.splice(0)) agent.destroy();
  for (const child of children.splice(0)) await stopChild(child);
});
function keepAliveAgent(): http.Agent {
  const agent = new http.Agent({ keepAlive: true });
  agents.push(agent);
  return agent;
}
const isRequest = (url: string) => (line: Line) => line.event === 'request' && line.url === url;
const message = (text: string) => (line: Line) => line.msg === text;

describe.each(['SIGTERM', 'SIGINT'] as const)('%s', (signal) => {
  test('in-flight requests complete, idle keep-alive sockets close, the process exits 0', async () => {
    const child = start({ LAMEDUCK_OPTIONS: JSON.stringify(FAST) });
    const [port] = await ports(child);
    const idle = await request(port!, { agent: keepAliveAgent() });
    const idleClosed = once(idle.socket, 'close');
    const slow = request(port!, { path: '/slow?ms=300', agent: keepAliveAgent() });
    await child.event(isRequest('/slow?ms=300'));

    child.kill(signal);
    const reply = await slow;
    expect(reply.status).toBe(200);
    expect(reply.headers.connection).toBe('close');
    await idleClosed;
    const { code } = await child.exited;
    expect(code).toBe(0);
    const started = await child.log(message('shutdown started: readiness fails now'));
    expect(started).toMatchObject({ level: 'info', name: 'lameduck', reason: signal, inflight: 1 });
    expect(await child.log(message('shutdown complete'))).toMatchObject({ graceful: true, reason: signal });
  });
});

describe('signal handling', () => {
  test('a second signal while draining forces an immediate exit 1 and reports what was in flight', async () => {
    const child = start({
      LAMEDUCK_OPTIONS: JSON.stringify({ ...FAST, timeout: 60_000, cleanupReserve: 5_000 }),
      SIGNAL_OPTIONS: JSON.stringify({ repeatWindow: 0 }),
    });
    const [port] = await ports(child);
    const hung = request(port!, { path: '/hang' }).catch((error: NodeJS.ErrnoException) => error);
    await child.event(isRequest('/hang'));
    child.kill('SIGTERM');
    await child.event((line) => line.event === 'state' && line.state === 'draining');
    child.kill('SIGTERM');

    const { code } = await child.exited;
    expect(code).toBe(1);
    expect(((await hung) as NodeJS.ErrnoException).code).toBe('ECONNRESET');
    const forced = await child.log(message('second signal: exiting now without draining'));
    expect(forced).toMatchObject({ level: 'error', signal: 'SIGTERM', inflight: 1 });
    expect(forced.requests).toEqual([{ method: 'GET', url: '/hang', age: expect.any(Number) }]);
    expect(child.events.find((line) => line.event === 'result')).toBeUndefined();
  });

  test('a storm of signals starts one shutdown, which completes gracefully', async () => {
    const child = start({
      LAMEDUCK_OPTIONS: JSON.stringify(FAST),
      SIGNAL_OPTIONS: JSON.stringify({ repeatWindow: 10_000 }),
    });
    const [port] = await ports(child);
    const slow = request(port!, { path: '/slow?ms=200' });
    await child.event(isRequest('/slow?ms=200'));
    for (let index = 0; index < 20; index++) child.kill(index % 2 === 0 ? 'SIGTERM' : 'SIGINT');

    expect((await slow).status).toBe(200);
    const { code } = await child.exited;
    expect(code).toBe(0);
    expect(child.logs.filter(message('shutdown started: readiness fails now'))).toHaveLength(1);
    expect(child.events.filter((line) => line.event === 'result')).toHaveLength(1);
    expect(child.logs.filter(message('repeated signal ignored: shutdown already in progress')).length).toBeGreaterThan(
      0,
    );
  });

  test('a hung request is destroyed at the deadline: exit 1, the stuck request is reported', async () => {
    const child = start({ LAMEDUCK_OPTIONS: JSON.stringify({ ...FAST, timeout: 1_500, cleanupReserve: 500 }) });
    const [port] = await ports(child);
    const hung = request(port!, { path: '/hang?id=7' }).catch((error: NodeJS.ErrnoException) => error);
    await child.event(isRequest('/hang?id=7'));
    child.kill('SIGTERM');

    const { code } = await child.exited;
    expect(code).toBe(1);
    expect(((await hung) as NodeJS.ErrnoException).code).toBe('ECONNRESET');
    const stuck = await child.log(message('request forced at the deadline'));
    expect(stuck).toMatchObject({ level: 'warn', method: 'GET', url: '/hang?id=7', age: expect.any(Number) });
    const result = await child.event((line) => line.event === 'result');
    expect(result).toMatchObject({ forced: true, graceful: false, exitCode: 1, destroyedConnections: 1 });
  });

  test('hooks run in reverse order, each bounded; a throwing and a hanging hook do not stop the others', async () => {
    const child = start({
      LAMEDUCK_OPTIONS: JSON.stringify(FAST),
      HOOKS: 'first,throws,hangs,last',
      HOOK_TIMEOUT: '300',
    });
    await ports(child);
    child.kill('SIGTERM');

    const { code } = await child.exited;
    expect(code).toBe(1);
    const ran = child.events.filter((line) => line.event === 'hook').map((line) => line.name);
    expect(ran).toEqual(['last', 'hangs', 'throws', 'first']);
    const result = await child.event((line) => line.event === 'result');
    expect(result).toMatchObject({ forced: false, graceful: false, exitCode: 1 });
    const failures = result.hookFailures as { name: string; timedOut: boolean }[];
    expect(failures.map(({ name, timedOut }) => ({ name, timedOut }))).toEqual([
      { name: 'hangs', timedOut: true },
      { name: 'throws', timedOut: false },
    ]);
    expect(child.logs.filter(message('cleanup hook failed')).map((line) => line.hook)).toEqual(['hangs', 'throws']);
  });

  test('with handleErrors, an uncaught exception drains through the same shutdown and exits 1', async () => {
    const child = start({
      LAMEDUCK_OPTIONS: JSON.stringify({ ...FAST, readinessDelay: 60_000, timeout: 70_000 }),
      SIGNAL_OPTIONS: JSON.stringify({ handleErrors: true }),
    });
    const [port] = await ports(child);
    const slow = request(port!, { path: '/slow?ms=300' });
    await child.event(isRequest('/slow?ms=300'));
    expect((await request(port!, { path: '/crash' })).body).toBe('crashing');

    expect((await slow).status).toBe(200);
    const { code } = await child.exited;
    expect(code).toBe(1);
    const logged = await child.log(message('uncaught error: draining, then exiting 1'));
    expect(logged).toMatchObject({ level: 'error', origin: 'uncaughtException', err: { message: 'boom' } });
    // Errors skip the 60 s readiness delay: the app may be broken.
    const result = await child.event((line) => line.event === 'result');
    expect(result).toMatchObject({ reason: 'uncaughtException', graceful: true });
    expect((result.durations as { lameDuck: number }).lameDuck).toBeLessThan(60_000);
  });

  test('several servers share one signal handler and one exit decision', async () => {
    const child = start({ LAMEDUCK_OPTIONS: JSON.stringify(FAST), SERVERS: 'http,https,http' });
    const [first, second, third] = await ports(child);
    const replies = Promise.all([
      request(first!, { path: '/slow?ms=300' }),
      request(second!, { path: '/slow?ms=300', tls: true }),
      request(third!, { path: '/slow?ms=300' }),
    ]);
    await child.event(
      (line) => child.events.filter(isRequest('/slow?ms=300')).length === 3 && line.event === 'request',
    );
    child.kill('SIGTERM');

    for (const reply of await replies) expect(reply.status).toBe(200);
    const { code } = await child.exited;
    expect(code).toBe(0);
    expect(child.events.filter((line) => line.event === 'result')).toHaveLength(1);
    expect(await child.event((line) => line.event === 'result')).toMatchObject({ requests: { completed: 3 } });
  });
});
