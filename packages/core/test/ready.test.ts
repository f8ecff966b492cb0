/** notifyReady() and the 'shutdown' message: how PM2 and @lameduck/cluster talk to a lameduck process over IPC. */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { createLameduck, notifyReady } from '@lameduck/core';
import { spawnFixture } from './helpers.js';

const FIXTURE = join(__dirname, 'fixtures', 'ready.ts');

/** Forks the fixture with an IPC channel, as PM2 and node:cluster do; collects its messages and stdout events. */
function forkReady(env: Record<string, string> = {}) {
  const child = fork(FIXTURE, [], {
    execArgv: ['--conditions=@lameduck/source', '--import', 'tsx'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const lines: Record<string, unknown>[] = [];
  const logs: string[] = [];
  child.stdout!.setEncoding('utf8').on('data', (text: string) => {
    for (const line of text.split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
  });
  child.stderr!.setEncoding('utf8').on('data', (text: string) => logs.push(text));
  const message = new Promise<unknown>((resolve) => child.once('message', resolve));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, lines, logs, message, exited };
}

test("sends 'ready' once listening and readiness passes; the 'shutdown' message drains like SIGINT, exit 0", async () => {
  const ready = forkReady({ FAIL_FIRST_CHECKS: '3' });
  expect(await ready.message).toBe('ready');
  ready.child.send('shutdown');
  expect(await ready.exited).toBe(0);
  // Readiness was checked until the check passed: three failures, then the fourth.
  expect(ready.lines).toContainEqual({ event: 'notified', sent: true, checks: 4 });
  const logs = ready.logs.join('');
  expect(logs).toContain('"msg":"shutdown started: readiness fails now","reason":"shutdown message"');
  expect(logs).toContain('"graceful":true');
});

test('without an IPC channel it sends nothing and resolves false', async () => {
  const child = spawnFixture('ready');
  const notified = await child.event((line) => line.event === 'notified');
  expect(notified).toEqual({ event: 'notified', sent: false, checks: 1 });
  child.kill('SIGTERM');
  expect(await child.exited).toEqual({ code: 0, signal: null });
});

test('resolves false without sending once shutdown has started', async () => {
  const lameduck = createLameduck({ silent: true, readinessDelay: 0 });
  void lameduck.shutdown('test');
  await expect(notifyReady(lameduck)).resolves.toBe(false);
});

test.each([0, -1, Number.NaN, '100'])('an invalid interval throws LAMEDUCK_INVALID_OPTION: %p', async (interval) => {
  const lameduck = createLameduck({ silent: true });
  await expect(notifyReady(lameduck, { interval: interval as number })).rejects.toMatchObject({
    code: 'LAMEDUCK_INVALID_OPTION',
    option: 'interval',
  });
});
