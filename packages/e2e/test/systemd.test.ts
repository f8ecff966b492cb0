/**
 * systemd socket activation: deploy/systemd's units run with the real systemd-socket-activate holding the
 * socket, the service restarted twice under keep-alive load, against the textbook server.
 */
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort, spawnChild, type Child, type Line } from '@lameduck/test-utils';
import { startLoad, type LoadResult } from './load.js';
import { record, tally } from './results.js';
import { readUnit, single } from './units.js';

const ROOT = join(__dirname, '..', '..', '..');
const SOCKET = readUnit(join(ROOT, 'deploy', 'systemd', 'lameduck-example.socket'));
const SERVICE = readUnit(join(ROOT, 'deploy', 'systemd', 'lameduck-example.service'));
const SOURCE = ['--conditions=@lameduck/source', '--import', 'tsx'];
const children: Child[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.process.exitCode === null && child.process.signalCode === null) child.kill('SIGKILL');
    await child.exited;
  }
});

const nth = (event: string, n: number) => {
  let seen = 0;
  return (line: Line) => line.event === event && ++seen === n;
};

interface Run {
  load: LoadResult;
  exits: Line[];
  ports: number[];
}

/**
 * systemd-socket-activate listens (ListenStream=, on a free port), passes the socket to the service manager
 * fixture, which runs `command` on it and restarts it on SIGHUP like `systemctl restart`.
 */
async function restartTwice(command: string[], cwd: string, env: string[], stopTimeout: number): Promise<Run> {
  const port = await freePort();
  const listen = single(SOCKET, 'ListenStream').replace(/:\d+$/, `:${port}`);
  const manager = [process.execPath, ...SOURCE, join(__dirname, 'fixtures', 'service-manager.ts')];
  const args = ['-l', listen, ...env.flatMap((pair) => ['-E', pair])];
  args.push('-E', `SERVICE_COMMAND=${JSON.stringify(command)}`, '-E', `STOP_TIMEOUT_MS=${stopTimeout}`, ...manager);
  const child = spawnChild(args, { command: 'systemd-socket-activate', cwd });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.process.stderr! }).on('line', (line) => {
      if (line.startsWith('Listening on ')) resolve();
    });
    void child.exited.then(() =>
      reject(new Error(`systemd-socket-activate exited:\n${child.output.stderr.join('\n')}`)),
    );
  });
  // It starts the service on the first connection, as systemd does: the load's, queued meanwhile.
  const load = startLoad(port, { clients: 16, maxRequests: 1_000_000, maxDuration: 90_000 });
  await load.succeeded(500);
  for (let restart = 1; restart <= 2; restart++) {
    child.kill('SIGHUP');
    await child.event(nth('listening', restart + 1));
    await load.succeeded(500);
  }
  const result = await load.stop();
  child.kill('SIGTERM');
  expect(await child.exited).toEqual({ code: 0, signal: null });
  const exits = child.events.filter((line) => line.event === 'exited');
  const ports = child.events.filter((line) => line.event === 'listening').map((line) => line.port as number);
  return { load: result, exits, ports };
}

test('systemd socket activation, the service restarted twice under keep-alive load: no connection refused or reset', async () => {
  const execStart = single(SERVICE, 'ExecStart').split(' ');
  expect(execStart[0]).toBe('/usr/bin/node'); // the test runs this Node instead: the one running the tests
  const command = [process.execPath, ...execStart.slice(1)];
  const cwd = single(SERVICE, 'WorkingDirectory').replace('/opt/lameduck', ROOT);
  const env = SERVICE.get('Environment') ?? [];
  const stopTimeout = Number(single(SERVICE, 'TimeoutStopSec')) * 1000;

  // The textbook server, restarted the same way; systemd would wait TimeoutStopSec, the test 5 s.
  const textbook = await restartTwice(
    [process.execPath, ...SOURCE, join(__dirname, 'fixtures', 'textbook-server.ts')],
    cwd,
    [],
    5_000,
  );
  const lameduck = await restartTwice(command, cwd, env, stopTimeout);
  record('systemd', {
    engine: 'systemd-socket-activate, one process',
    restart: 'stop, then start on the same socket (`systemctl restart`), twice',
    lameduck: lameduck.load,
    textbook: textbook.load,
    exits: { lameduck: tally(lameduck.exits), textbook: tally(textbook.exits) },
  });

  // The comparison ran: three textbook processes served on the one socket, one after the other.
  expect(textbook.exits).toHaveLength(3);
  expect(new Set(textbook.ports).size).toBe(1);
  expect(textbook.load.ok).toBeGreaterThan(1_500);

  const refusedOrReset = Object.entries(lameduck.load.failures).filter(([kind]) => !kind.startsWith('status '));
  expect(refusedOrReset).toEqual([]);
  expect(lameduck.load.ended).toBe('stopped');
  expect(lameduck.load.ok).toBeGreaterThan(1_500);
  expect(lameduck.ports).toHaveLength(3);
  expect(new Set(lameduck.ports).size).toBe(1);
  for (const exit of lameduck.exits) expect(exit).toMatchObject({ code: 0, signal: null, forced: false });
}, 170_000);
