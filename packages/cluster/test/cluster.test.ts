/** @lameduck/cluster's primary: what a failed roll, a failed drain and bad options do (real workers, real signals). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLUSTER_DEFAULTS, createCluster } from '@lameduck/cluster';
import { request, spawnChild, type Child, type Line } from '@lameduck/test-utils';

const dir = mkdtempSync(join(tmpdir(), 'lameduck-cluster-'));
const BEHAVIOUR_FILE = join(dir, 'behaviour');
const children: Child[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.process.exitCode === null && child.process.signalCode === null) child.kill('SIGKILL');
    await child.exited;
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const message = (text: string) => (line: Line) => line.msg === text;

/** Starts the primary fixture with two `ok` workers; resolves once both are ready, with their port and pids. */
async function startPrimary(env: Record<string, string> = {}) {
  writeFileSync(BEHAVIOUR_FILE, 'ok');
  const primary = spawnChild(
    ['--conditions=@lameduck/source', '--import', 'tsx', join(__dirname, 'fixtures', 'primary.ts')],
    {
      env: { BEHAVIOUR_FILE, ...env },
    },
  );
  children.push(primary);
  const ready = await primary.log(message('cluster ready'));
  const port = (await primary.event((line) => line.event === 'listening')).port as number;
  return { primary, port, pids: ready.workers as number[] };
}

/** Asks every worker in turn (round-robin) until both have answered: both still serve. */
async function servingPids(port: number): Promise<number[]> {
  const seen = new Set<number>();
  for (let attempt = 0; attempt < 20 && seen.size < 2; attempt++) {
    const reply = await request(port, { agent: false });
    seen.add(Number(reply.body.replace('worker ', '')));
  }
  return [...seen].sort();
}

test('a new worker that crashes before it is ready stops the roll; the old workers keep serving', async () => {
  const { primary, port, pids } = await startPrimary();
  writeFileSync(BEHAVIOUR_FILE, 'crash');
  primary.kill('SIGHUP');
  const stopped = await primary.log(
    message('roll stopped: the new worker did not become ready; the old workers keep serving'),
  );
  expect(stopped).toMatchObject({ reason: 'exited', exit: { code: 3, signal: null, stopped: false } });
  expect(primary.logs.filter(message('worker replaced'))).toEqual([]);
  expect(await servingPids(port)).toEqual([...pids].sort());

  primary.kill('SIGTERM');
  expect(await primary.exited).toEqual({ code: 0, signal: null });
  expect(await primary.log(message('cluster shut down'))).toMatchObject({
    exitCode: 0,
    workers: [{ code: 0 }, { code: 0 }],
  });
});

test('a new worker not ready within readyTimeout is shut down and stops the roll; the old workers keep serving', async () => {
  const { primary, port, pids } = await startPrimary({ READY_TIMEOUT_MS: '10000' });
  writeFileSync(BEHAVIOUR_FILE, 'never-ready');
  primary.kill('SIGHUP');
  const stopped = await primary.log(
    message('roll stopped: the new worker did not become ready; the old workers keep serving'),
  );
  expect(stopped).toMatchObject({ reason: 'timeout' });
  expect(stopped.pid).not.toBe(pids[0]);
  expect(await servingPids(port)).toEqual([...pids].sort());
  primary.kill('SIGTERM');
  expect(await primary.exited).toEqual({ code: 0, signal: null });
});

test('SIGTERM drains every worker; one that exits 1 makes the primary exit 1', async () => {
  const { primary } = await startPrimary();
  writeFileSync(BEHAVIOUR_FILE, 'exit-1');
  primary.kill('SIGHUP'); // replaces both workers with ones that exit 1 when told to stop
  expect(await primary.log(message('roll complete'))).toMatchObject({ ok: true, retired: 2 });
  primary.kill('SIGTERM');
  expect(await primary.exited).toEqual({ code: 1, signal: null });
  const result = await primary.log(message('cluster shut down'));
  expect(result).toMatchObject({
    reason: 'SIGTERM',
    exitCode: 1,
    workers: [
      { code: 1, stopped: true },
      { code: 1, stopped: true },
    ],
  });
});

test('a roll replaces every worker one at a time, each old one drained with exit 0', async () => {
  const { primary, port, pids } = await startPrimary();
  primary.kill('SIGHUP');
  expect(await primary.log(message('roll complete'))).toMatchObject({ ok: true, retired: 2 });
  const replaced = primary.logs.filter(message('worker replaced')).map((line) => line.replaced as Line);
  expect(replaced.map((exit) => exit.pid)).toEqual(pids);
  for (const exit of replaced) expect(exit).toMatchObject({ code: 0, signal: null, forced: false, stopped: true });
  const now = await servingPids(port);
  expect(now.filter((pid) => pids.includes(pid))).toEqual([]);
  primary.kill('SIGTERM');
  expect(await primary.exited).toEqual({ code: 0, signal: null });
});

describe('options', () => {
  test.each([
    [{ workers: 0 }, 'workers'],
    [{ workers: 1.5 }, 'workers'],
    [{ readyTimeout: -1 }, 'readyTimeout'],
    [{ stopTimeout: '30s' }, 'stopTimeout'],
    [{ silent: 'yes' }, 'silent'],
    [{ logger: 'console' }, 'logger'],
    [{ worker: 4 }, 'worker'],
  ])('%j throws LAMEDUCK_INVALID_OPTION naming %s', (options, option) => {
    expect(() => createCluster(options as never)).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_INVALID_OPTION', option }),
    );
  });

  test('defaults: os.availableParallelism() workers, 30 s to be ready, 30 s to drain', () => {
    const { options } = createCluster({ silent: true });
    expect(options).toEqual({
      workers: availableParallelism(),
      readyTimeout: 30_000,
      stopTimeout: 30_000,
      silent: true,
      logger: undefined,
    });
    expect(CLUSTER_DEFAULTS).toEqual({ readyTimeout: 30_000, stopTimeout: 30_000, silent: false });
  });
});
