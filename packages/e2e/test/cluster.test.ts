/** node:cluster: examples/cluster (4 workers) rolled twice by SIGHUP under keep-alive load, against the textbook server. */
import { join } from 'node:path';
import { spawnChild, type Child, type Line } from '@lameduck/test-utils';
import { startLoad, type LoadResult } from './load.js';
import { record, tally } from './results.js';

const ROOT = join(__dirname, '..', '..', '..');
const SOURCE = ['--conditions=@lameduck/source', '--import', 'tsx'];
const ENV = { WORKERS: '4', PORT: '0', HOST: '127.0.0.1', READINESS_DELAY_MS: '1000', SHUTDOWN_TIMEOUT_MS: '10000' };
const children: Child[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.process.exitCode === null && child.process.signalCode === null) child.kill('SIGKILL');
    await child.exited;
  }
});

const message = (text: string) => (line: Line) => line.msg === text;

interface Run {
  load: LoadResult;
  rolls: Line[];
  /** How each retired worker exited. */
  replaced: Line[];
  shutdown: Line;
  exit: { code: number | null; signal: NodeJS.Signals | null };
}

/** Matches the `n`th line with this message (counting from the first line of the log). */
const nth = (text: string, n: number) => {
  let seen = 0;
  return (line: Line) => line.msg === text && ++seen === n;
};

/** Starts a primary, rolls its workers twice by SIGHUP under load, then stops it with SIGTERM. */
async function rollTwice(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const primary = spawnChild([...SOURCE, ...args], { env: { ...ENV, ...env } });
  children.push(primary);
  await primary.log(message('cluster ready'));
  const port = (await primary.event((line) => line.event === 'listening')).port as number;
  const load = startLoad(port, { clients: 16, maxRequests: 1_000_000, maxDuration: 90_000 });
  await load.succeeded(500);
  const rolls: Line[] = [];
  for (let roll = 1; roll <= 2; roll++) {
    primary.kill('SIGHUP');
    rolls.push(await primary.log(nth('roll complete', roll)));
    await load.succeeded(500);
  }
  const result = await load.stop();
  primary.kill('SIGTERM');
  const exit = await primary.exited;
  const replaced = primary.logs.filter(message('worker replaced')).map((line) => line.replaced as Line);
  return { load: result, rolls, replaced, shutdown: await primary.log(message('cluster shut down')), exit };
}

test('node:cluster, 4 workers rolled twice under keep-alive load: lameduck fails no request, every old worker exits 0', async () => {
  const textbook = await rollTwice([join(__dirname, 'fixtures', 'cluster-primary.ts')], {
    WORKER_EXEC: join(__dirname, 'fixtures', 'textbook-server.ts'),
    STOP_TIMEOUT_MS: '5000',
  });
  const lameduck = await rollTwice([join(ROOT, 'examples', 'cluster', 'src', 'primary.ts')]);
  record('cluster', {
    engine: 'node:cluster, 4 workers',
    restart: 'SIGHUP rolling restart, twice',
    lameduck: lameduck.load,
    textbook: textbook.load,
    exits: { lameduck: tally(lameduck.replaced), textbook: tally(textbook.replaced) },
  });

  // The comparison ran: the textbook cluster was rolled twice under the same load.
  expect(textbook.rolls.map((line) => line.ok !== undefined)).toEqual([true, true]);
  expect(textbook.replaced).toHaveLength(8);
  expect(textbook.load.ok).toBeGreaterThan(1_500);

  expect(lameduck.rolls).toEqual([
    expect.objectContaining({ ok: true, retired: 4 }),
    expect.objectContaining({ ok: true, retired: 4 }),
  ]);
  expect(lameduck.replaced).toHaveLength(8);
  for (const exit of lameduck.replaced)
    expect(exit).toMatchObject({ code: 0, signal: null, forced: false, stopped: true });
  expect(lameduck.load).toMatchObject({ failed: 0, failures: {}, ended: 'stopped' });
  expect(lameduck.load.ok).toBeGreaterThan(1_500);
  expect(lameduck.exit).toEqual({ code: 0, signal: null });
  expect(lameduck.shutdown).toMatchObject({ reason: 'SIGTERM', exitCode: 0 });
}, 150_000);
