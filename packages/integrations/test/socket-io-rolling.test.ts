/** Socket.IO clients across a rolling restart of three instances behind a real HAProxy with sticky sessions: every client ends on a live instance, every exit 0. */
import { join } from 'node:path';
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
  /** Its connect_error messages. */
  errors: string[];
}

let balancer: Balancer | undefined;
/** Where the test is, said on failure: a rolling restart that overran its timeout says which step it was in. */
let step = '';
const instances: Instance[] = [];
const clients: Client[] = [];

beforeAll(async () => {
  // CI installs it (.ci/run); without it this check must fail, not pass unnoticed.
  if ((await haproxyVersion()) === undefined) throw new Error('HAProxy is not installed: apt-get install -y haproxy');
});

afterEach(async () => {
  if (step !== 'done') {
    const state = clients.map((client) => `${client.on ?? '-'} ${client.reasons.join('/')} ${client.errors.join('/')}`);
    console.log(
      `Socket.IO rolling restart stopped at: ${step}; clients (on, disconnects, connect errors):\n${state.join('\n')}`,
    );
  }
  // The processes first, whatever else fails; then HAProxy, so that a client still connecting fails at once…
  const ended = instances.splice(0).map((instance) => {
    instance.kill('SIGKILL');
    return instance.exited;
  });
  await Promise.all(ended);
  await balancer?.stop();
  // …and closes: wait for every client's transport, so that nothing of theirs runs after the test.
  await Promise.all(clients.splice(0).map(({ socket }) => closeClient(socket)));
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

/** Resolves with the instance the client is on once it is on one that `accept`s (at once if it is). */
async function landed(client: Client, accept: (name: string) => boolean): Promise<string> {
  while (client.on === undefined || !accept(client.on)) {
    await new Promise((resolve) => client.socket.once('instance', resolve));
  }
  return client.on;
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
  const client: Client = { socket, on: undefined, reasons: [], errors: [] };
  socket.on('instance', (name: string) => (client.on = name));
  socket.on('connect_error', (error) => client.errors.push(error.message));
  socket.on('disconnect', (reason) => {
    client.on = undefined;
    client.reasons.push(reason);
  });
  clients.push(client);
  return client;
}

test('30 Socket.IO clients across a rolling restart of 3 instances behind sticky HAProxy: every client ends on a new instance, every exit 0', async () => {
  step = 'starting HAProxy';
  balancer = await haproxyBalancer(FAST, '/readyz', 3, true);
  step = 'starting six instances';
  // Every process started up front (startup is most of the time here), the new ones idle until their turn.
  const started = await Promise.all(
    ['old-1', 'old-2', 'old-3', 'new-1', 'new-2', 'new-3'].map((name) => startInstance(target(name))),
  );
  instances.push(...started);
  const [olds, news] = [started.slice(0, 3), started.slice(3)];
  step = 'adding the old instances to HAProxy';
  for (const instance of olds) await balancer.add(instance.port);
  step = 'connecting the clients';
  const all = Array.from({ length: CLIENTS }, (_, index) => connectClient(balancer!.port, index));
  const first = await Promise.all(all.map((client) => landed(client, () => true)));
  // Round robin spread them over the three.
  expect(new Set(first)).toEqual(new Set(['old-1', 'old-2', 'old-3']));

  const exits: (number | null)[] = [];
  for (const [index, old] of olds.entries()) {
    step = `restart ${index + 1}: adding its replacement`;
    await balancer.add(news[index]!.port);
    step = `restart ${index + 1}: waiting for the old instance to exit`;
    old.kill('SIGTERM');
    exits.push((await old.exited).code);
    step = `restart ${index + 1}: waiting for HAProxy to mark it down`;
    await balancer.afterStop(old.port);
  }
  expect(exits).toEqual([0, 0, 0]);

  step = 'waiting for every client to land on a new instance';
  // Every client lands on a live instance by itself: nobody reconnects them but socket.io-client.
  await Promise.all(all.map((client) => landed(client, (name) => name.startsWith('new-'))));
  for (const client of all) {
    expect(client.socket.connected).toBe(true);
    // "transport close" (or "transport error": a client caught between two polls): never "io server disconnect".
    for (const reason of client.reasons) expect(['transport close', 'transport error']).toContain(reason);
  }
  step = 'done';
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
  // 13 to 26 s measured on a shared, loaded machine: most of it starting the six instances (tsx).
}, 120_000);
