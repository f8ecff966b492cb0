/** PM2: deploy/pm2/ecosystem.config.js (2 instances, cluster mode) reloaded twice under keep-alive load, against the textbook server. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnChild } from '@lameduck/test-utils';
import { lineIn } from './files.js';
import { startLoad, type LoadResult } from './load.js';
import { record, tally } from './results.js';

const ROOT = join(__dirname, '..', '..', '..');
const RECIPE = join(ROOT, 'deploy', 'pm2', 'ecosystem.config.js');
const PM2 = join(require.resolve('pm2/package.json'), '..', 'bin', 'pm2');
const home = mkdtempSync(join(tmpdir(), 'lameduck-pm2-'));
const ENV = { PM2_HOME: home, PORT: '0', HOST: '127.0.0.1' };

/** Runs the pm2 command line against the test's daemon; resolves with its output once it exits 0. */
async function pm2(...args: string[]): Promise<string> {
  const cli = spawnChild([PM2, ...args], { env: ENV });
  const { code } = await cli.exited;
  const output = [...cli.output.stdout, ...cli.output.stderr].join('\n');
  if (code !== 0) throw new Error(`pm2 ${args.join(' ')} exited ${code}:\n${output}`);
  return output;
}

afterAll(async () => {
  await pm2('kill'); // stops the apps and the daemon
  rmSync(home, { recursive: true, force: true });
}, 60_000);

interface Exit {
  code: number | null;
  signal: string | null;
}

/** The app's exits that PM2 logged (`App [name:0] exited with code [0] via signal [SIGINT]`). */
function exits(name: string): Exit[] {
  const log = readFileSync(join(home, 'pm2.log'), 'utf8');
  const pattern = new RegExp(`App \\[${name}:[^\\]]+\\] exited with code \\[(\\w+)\\] via signal \\[(\\w+)\\]`, 'g');
  // "via signal [SIGINT]" names the signal PM2 stopped it with; only another one (SIGKILL) is kept.
  return [...log.matchAll(pattern)].map(([, code, signal]) => ({
    code: code === 'null' ? null : Number(code),
    signal: signal === 'SIGINT' ? null : (signal ?? null),
  }));
}

/** Starts the app from `config`, reloads it twice under load, deletes it; returns what the clients saw. */
async function reloadTwice(config: string, name: string): Promise<{ load: LoadResult; exits: Exit[] }> {
  await pm2('start', config);
  const listening = await lineIn(join(home, 'logs', `${name}-out-0.log`), (line) => line.includes('"listening"'));
  const port = (JSON.parse(listening) as { port: number }).port;
  const load = startLoad(port, { clients: 16, maxRequests: 1_000_000, maxDuration: 90_000 });
  await load.succeeded(500);
  for (let reload = 0; reload < 2; reload++) {
    await pm2('reload', name);
    await load.succeeded(500);
  }
  const result = await load.stop();
  await pm2('delete', name);
  return { load: result, exits: exits(name) };
}

test('pm2 reload of a 2-instance cluster, twice under keep-alive load: lameduck fails no request', async () => {
  // The textbook run: the recipe's app with the textbook server, killed after 5 s instead of 30 s to bound the test.
  const { apps } = (await import(RECIPE)) as { apps: Record<string, unknown>[] };
  const app = apps[0];
  const textbookConfig = join(home, 'textbook.config.json');
  const textbookApp = {
    ...app,
    name: 'textbook',
    cwd: join(__dirname, 'fixtures'),
    script: 'textbook-server.ts',
    kill_timeout: 5_000,
    env: {},
  };
  writeFileSync(textbookConfig, JSON.stringify({ apps: [textbookApp] }));
  const textbook = await reloadTwice(textbookConfig, 'textbook');
  const lameduck = await reloadTwice(RECIPE, 'lameduck-example');
  record('pm2', {
    engine: 'PM2 7.0.4, cluster mode, 2 instances',
    restart: '`pm2 reload` with wait_ready, twice',
    lameduck: lameduck.load,
    textbook: textbook.load,
    exits: { lameduck: tally(lameduck.exits), textbook: tally(textbook.exits) },
  });

  // The comparison ran: 4 textbook instances were retired by the reloads, and 2 by the delete.
  expect(textbook.exits).toHaveLength(6);
  expect(textbook.load.ok).toBeGreaterThan(1_500);

  expect(lameduck.load).toMatchObject({ failed: 0, failures: {}, ended: 'stopped' });
  expect(lameduck.load.ok).toBeGreaterThan(1_500);
  // Each instance drained within kill_timeout and exited 0: two reloads, then the delete.
  expect(lameduck.exits).toEqual(Array.from({ length: 6 }, () => ({ code: 0, signal: null })));
}, 170_000);
