/** Socket.IO clients across a rolling restart of three instances behind a real HAProxy with sticky sessions: every client ends on a live instance, every exit 0. */
import { join } from 'node:path';
import { deferred, type Deferred } from '@lameduck/test-utils';
import { io as connect, type Socket } from 'socket.io-client';
import type { Balancer } from '../../e2e/src/balancer.js';
import { CHECKS, haproxyBalancer, haproxyVersion } from '../../e2e/src/haproxy.js';
import { ROOT, startInstance, type Instance, type Target } from '../../e2e/src/instance.js';

const FAST = CHECKS.find((check) => check.name === 'fast')!;
const CLIENTS = 30;

/** An instance of test/fixtures/socket-io-server.ts, which tells each client its name. */
function target(name: string): Target {
  const fixture = join(__dirname, 'fixtures', 'socket-io-server.ts');
  return {
    name: `socket.io ${name}`,
    args: ['--conditions=@lameduck/source', '--import', 'tsx', fixture],
    cwd: ROOT,
    env: { INSTANCE: name },
    checkPath: '/readyz',
  };
}

/** A client through the balancer, and the instance it is on now. */
interface Client {
  socket: Socket;
  on: string | undefined;
  reasons: string[];
  /** Replaced whenever the client lands on an instance. */
  landed: Deferred<string>;
}

let balancer: Balancer | undefined;
const instances: Instance[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  // CI installs it (.ci/run); without it this check must fail, not pass unnoticed.
  if ((await haproxyVersion()) === undefined) throw new Error('HAProxy is not installed: apt-get install -y haproxy');
});

afterEach(async () => {
  // A client caught opening a transport closes it once open: wait, so that nothing runs after the test.
  await Promise.all(clients.splice(0).map(({ socket }) => closeClient(socket)));
  for (const instance of instances.splice(0)) instance.kill('SIGKILL');
  await balancer?.stop();
});

/** Closes a client; resolves once its transport has closed (at once if it had). */
function closeClient(socket: Socket): Promise<void> {
  const engine = socket.io.engine;
  const closed = new Promise<void>((resolve) => {
    if (engine === undefined || engine.readyState === 'closed') resolve();
    else engine.once('close', () => resolve());
  });
  socket.close();
  return closed;
}

/**
 * One in three polls only (sticky sessions keep its requests on one instance); the others poll, then
 * upgrade to WebSocket, as browsers do. The cookie jar (`withCredentials`) is how Node's client keeps
 * HAProxy's cookie.
 */
function connectClient(port: number, index: number): Client {
  const socket = connect(`http://127.0.0.1:${port}`, {
    transports: index % 3 === 0 ? ['polling'] : ['polling', 'websocket'],
    withCredentials: true,
    // Quicker than the defaults (1 s, up to 5 s) to keep the test short; the same mechanism.
    reconnectionDelay: 200,
    reconnectionDelayMax: 1_000,
  });
  const client: Client = { socket, on: undefined, reasons: [], landed: deferred<string>() };
  socket.on('instance', (name: string) => {
    client.on = name;
    client.landed.resolve(name);
  });
  socket.on('disconnect', (reason) => {
    client.on = undefined;
    client.reasons.push(reason);
    client.landed = deferred<string>();
  });
  clients.push(client);
  return client;
}

test('30 Socket.IO clients across a rolling restart of 3 instances behind sticky HAProxy: every client ends on a new instance, every exit 0', async () => {
  balancer = await haproxyBalancer(FAST, '/readyz', 3, true);
  // Every process started up front (startup is most of the time here), the new ones idle until their turn.
  const started = await Promise.all(
    ['old-1', 'old-2', 'old-3', 'new-1', 'new-2', 'new-3'].map((name) => startInstance(target(name))),
  );
  instances.push(...started);
  const [olds, news] = [started.slice(0, 3), started.slice(3)];
  for (const instance of olds) await balancer.add(instance.port);
  const all = Array.from({ length: CLIENTS }, (_, index) => connectClient(balancer!.port, index));
  const first = await Promise.all(all.map((client) => client.landed.promise));
  // Round robin spread them over the three.
  expect(new Set(first)).toEqual(new Set(['old-1', 'old-2', 'old-3']));

  const exits: (number | null)[] = [];
  for (const [index, old] of olds.entries()) {
    await balancer.add(news[index]!.port);
    old.kill('SIGTERM');
    exits.push((await old.exited).code);
    await balancer.afterStop(old.port);
  }
  expect(exits).toEqual([0, 0, 0]);

  // Every client lands on a live instance by itself: nobody reconnects them but socket.io-client.
  const last = await Promise.all(all.map((client) => (client.on === undefined ? client.landed.promise : client.on)));
  for (const name of last) expect(name).toMatch(/^new-/);
  for (const client of all) {
    expect(client.socket.connected).toBe(true);
    // Moved with "transport close" (or, for a client caught between two polls, "transport error"): never "io server disconnect".
    for (const reason of client.reasons) expect(['transport close', 'transport error']).toContain(reason);
  }
  console.log(
    `Socket.IO rolling restart: exits ${exits.join(',')}; disconnects by reason ${JSON.stringify(
      all
        .flatMap((client) => client.reasons)
        .reduce<Record<string, number>>((tally, reason) => {
          tally[reason] = (tally[reason] ?? 0) + 1;
          return tally;
        }, {}),
    )}`,
  );
}, 60_000);
