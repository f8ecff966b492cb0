/** Never a hang: whatever gets stuck, a real SIGTERM ends the process by the deadline plus the margin, with 1, saying where. */
import http from 'node:http';
import { join } from 'node:path';
import { request, spawnChild, stopChild, type Child, type Line } from '@lameduck/test-utils';
import { WATCHDOG_MARGIN } from '../src/watchdog/index.js';
import { ports, spawnFixture } from './helpers.js';

const children: Child[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) await stopChild(child);
});

function start(stuck: string, options: Record<string, unknown>, env: Record<string, string> = {}): Child {
  const child = spawnFixture('stuck', {
    STUCK: stuck,
    LAMEDUCK_OPTIONS: JSON.stringify({ readinessDelay: 0, ...options }),
    ...env,
  });
  children.push(child);
  return child;
}

const watchdogLine = (line: Line) =>
  typeof line.msg === 'string' && line.msg.startsWith('the shutdown deadline passed');

/** Sends SIGTERM once listening; resolves with the exit and the ms from the signal to it (the child's clock). */
async function terminate(child: Child): Promise<{ code: number | null; signal: string | null; elapsed: number }> {
  await ports(child);
  const sent = child.kill('SIGTERM');
  const exit = await child.timedExit;
  await child.exited;
  return { code: exit.code, signal: exit.signal, elapsed: exit.at - sent };
}

describe('a main thread blocked past the deadline', () => {
  test('a cleanup hook spinning: exit 1 by timeout + margin, the line names the hook and its file:line', async () => {
    const child = start('hook spins', { timeout: 3_000 });
    const { code, elapsed } = await terminate(child);
    expect(code).toBe(1);
    expect(elapsed).toBeGreaterThanOrEqual(3_000);
    expect(elapsed).toBeLessThan(3_000 + WATCHDOG_MARGIN);
    const line = await child.log(watchdogLine);
    expect(line).toMatchObject({
      level: 'error',
      name: 'lameduck',
      msg: 'the shutdown deadline passed with the main thread blocked: exiting 1',
      phase: 'cleanup',
      hook: 'flushMetrics',
    });
    expect(line.blocked).toBeGreaterThan(1_000);
    expect(line.stack).toEqual(
      expect.arrayContaining([expect.stringMatching(/flushMetrics \(.*stuck\.ts:\d+:\d+\)$/)]),
    );
    // One line, then the exit: no result, nothing after it from lameduck.
    expect(child.logs.filter(watchdogLine)).toHaveLength(1);
    expect(child.logs.find((log) => log.msg === 'shutdown complete')).toBeUndefined();
  });

  test('a request handler spinning: exit 1, the line names the request (method, path)', async () => {
    const child = start('request spins', { timeout: 1_500 });
    const [port] = await ports(child);
    const agent = new http.Agent();
    const reply = request(port!, { path: '/spin?id=3', agent }).catch((error: Error) => error);
    await child.event((line) => line.event === 'request');
    const { code, elapsed } = await terminate(child);
    agent.destroy();
    await reply;
    expect(code).toBe(1);
    expect(elapsed).toBeLessThan(1_500 + WATCHDOG_MARGIN);
    const line = await child.log(watchdogLine);
    expect(line).toMatchObject({ request: { method: 'GET', url: '/spin?id=3' }, phase: 'lameduck' });
    expect(line.stack).toEqual(expect.arrayContaining([expect.stringMatching(/render \(.*stuck\.ts:\d+:\d+\)$/)]));
  });

  test('a closer spinning: exit 1, the line names the closer', async () => {
    const child = start('closer spins', { timeout: 1_500 });
    const { code, elapsed } = await terminate(child);
    expect(code).toBe(1);
    expect(elapsed).toBeLessThan(1_500 + WATCHDOG_MARGIN);
    const line = await child.log(watchdogLine);
    expect(line).toMatchObject({ phase: 'draining' });
    expect(line.stack).toEqual(
      expect.arrayContaining([expect.stringMatching(/closeStreams \(.*stuck\.ts:\d+:\d+\)$/)]),
    );
  });

  test('a hook blocked in a native call: the line says so, then SIGKILL by timeout + margin', async () => {
    const child = start('hook blocks in a native call', { timeout: 1_500 });
    const { code, signal, elapsed } = await terminate(child);
    expect({ code, signal }).toEqual({ code: null, signal: 'SIGKILL' });
    expect(elapsed).toBeLessThan(1_500 + WATCHDOG_MARGIN);
    const line = await child.log(watchdogLine);
    expect(line).toMatchObject({
      hook: 'compress',
      stack: null,
      where: 'outside JavaScript (a native call): no stack',
    });
  });

  test('without handleSignals() the process is the application’s: the line is written, the process not ended', async () => {
    const child = start('hook spins', { timeout: 1_000 }, { HANDLE_SIGNALS: '0' });
    await ports(child);
    child.kill('SIGTERM');
    const line = await child.log(watchdogLine);
    expect(line.msg).toBe(
      'the shutdown deadline passed with the main thread blocked: not ending the process (handleSignals() not used)',
    );
    expect(line.hook).toBe('flushMetrics');
    expect(child.running).toBe(true);
  });
});

describe('never a hang: each way a part can get stuck ends by the deadline with 1', () => {
  test.each([
    'hook never settles',
    'hook throws synchronously',
    'hook starts the shutdown again',
    'task never settles',
    'framework close never settles',
  ])('%s', async (stuck) => {
    const child = start(stuck, { timeout: 1_500 });
    const { code, elapsed } = await terminate(child);
    expect(code).toBe(1);
    expect(elapsed).toBeLessThan(1_500 + WATCHDOG_MARGIN);
    // The main thread kept running: lameduck's own deadline ended it, with its result.
    expect(child.logs.find((log) => log.msg === 'shutdown complete')).toMatchObject({ exitCode: 1 });
  });
});

describe('never keeps alive a process that would have exited', () => {
  test.each(['shutdown', 'always'])(
    'watchdog: "%s", shutdown() without handleSignals(): the process exits by itself once drained',
    async (watchdog) => {
      const child = start('', { timeout: 60_000, watchdog }, { HANDLE_SIGNALS: '0' });
      const { code, elapsed } = await terminate(child);
      expect(code).toBe(0);
      expect(elapsed).toBeLessThan(5_000);
      expect(await child.event((line) => line.event === 'result')).toMatchObject({ graceful: true });
    },
  );

  test('watchdog: "always", no shutdown at all: the process exits once its server has closed', async () => {
    const child = start('', { watchdog: 'always' }, { HANDLE_SIGNALS: 'close' });
    const { code, elapsed } = await terminate(child);
    expect(code).toBe(0);
    expect(elapsed).toBeLessThan(5_000);
  });
});

describe('a main thread blocked for a while during the drain', () => {
  test('one warning once it recovers, with the stack; the shutdown then ends normally', async () => {
    const child = start('hook spins, then recovers', { timeout: 5_000, stallWarning: 300 }, { SPIN_MS: '1500' });
    const { code } = await terminate(child);
    expect(code).toBe(0);
    const warnings = child.logs.filter((log) => log.msg === 'event loop was blocked');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 'warn', hook: 'slowFlush', phase: 'cleanup' });
    expect(warnings[0]!.blocked).toBeGreaterThanOrEqual(1_400);
    expect(warnings[0]!.stack).toEqual(
      expect.arrayContaining([expect.stringMatching(/slowFlush \(.*stuck\.ts:\d+:\d+\)$/)]),
    );
  });
});

/** The path in `variable` (set by .ci/run); a clear failure, never a skip, when it is missing. */
function runtime(variable: 'LAMEDUCK_BUN' | 'LAMEDUCK_DENO'): string {
  const path = process.env[variable];
  if (path === undefined || path === '')
    throw new Error(`${variable} is not set: .ci/run installs the runtime and sets it`);
  return path;
}

describe('where the runtime cannot reach a blocked main thread', () => {
  const fixture = join(__dirname, 'fixtures', 'stuck.ts');
  test.each([
    [
      'Bun',
      () => [runtime('LAMEDUCK_BUN'), '--conditions=@lameduck/source', fixture],
      "'Runtime.evaluate' wasn't found",
    ],
    [
      'Deno',
      () => [runtime('LAMEDUCK_DENO'), 'run', '-A', '--sloppy-imports', '--conditions=@lameduck/source', fixture],
      'connectToMainThread not supported',
    ],
  ])('%s: a plain forced exit (SIGKILL) by timeout + margin, after a line that says why', async (_name, argv, why) => {
    const [command, ...args] = argv();
    const child = spawnChild(args, {
      command,
      env: { STUCK: 'hook spins', LAMEDUCK_OPTIONS: JSON.stringify({ readinessDelay: 0, timeout: 1_500 }) },
    });
    children.push(child);
    const { code, signal, elapsed } = await terminate(child);
    expect({ code, signal }).toEqual({ code: null, signal: 'SIGKILL' });
    expect(elapsed).toBeLessThan(1_500 + WATCHDOG_MARGIN);
    const line = await child.log(watchdogLine);
    expect(line).toMatchObject({
      msg: 'the shutdown deadline passed with the main thread blocked: exiting (SIGKILL: this runtime cannot end a blocked main thread otherwise)',
      hook: 'flushMetrics',
      stack: null,
      where: expect.stringContaining(why) as string,
    });
  });
});
