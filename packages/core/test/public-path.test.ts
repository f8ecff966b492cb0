/** The public-API path (tracker/follow.ts): chosen by the runtime check, forced by lameduck.withoutNodeInternals, and draining as fast as the default path. */
import http from 'node:http';
import net from 'node:net';
import { createLameduck, type Logger } from '@lameduck/core';
import { listen, once, request, stopChild, type Child } from '@lameduck/test-utils';
import { systemClock } from '../src/deadline.js';
import { DEFAULTS } from '../src/options.js';
import { createTracker } from '../src/tracker/index.js';
import { ports, spawnFixture } from './helpers.js';

const kWithout = Symbol.for('lameduck.withoutNodeInternals');

function recorder(): { logger: Logger; lines: { level: string; fields: object; message: string }[] } {
  const lines: { level: string; fields: object; message: string }[] = [];
  const log = (level: string) => (fields: object, message: string) => void lines.push({ level, fields, message });
  return { logger: { info: log('info'), warn: log('warn'), error: log('error') }, lines };
}

describe(`Node ${process.version}: the runtime check`, () => {
  afterEach(() => delete (globalThis as Record<symbol, unknown>)[kWithout]);

  /** Node's connections list, but without the `all()` lameduck reads (what Deno 2.9 has). */
  function hideAll(server: http.Server): void {
    const key = Object.getOwnPropertySymbols(server).find((symbol) => symbol.description === 'http.server.connections');
    (server as unknown as Record<symbol, { all?: unknown }>)[key!]!.all = undefined;
  }

  async function firstResponse(
    alter: (server: http.Server) => void = () => {},
  ): Promise<{ before: number; after: number; lines: unknown[] }> {
    const { logger, lines } = recorder();
    const lameduck = createLameduck({ logger, readinessDelay: 0 });
    const server = http.createServer((_req, res) => res.end('ok'));
    lameduck.attach(server);
    const port = await listen(server);
    alter(server);
    const before = server.listenerCount('request');
    await request(port, { agent: false });
    await request(port, { agent: false });
    const after = server.listenerCount('request');
    await lameduck.shutdown();
    return { before, after, lines: lines.filter((line) => line.message.includes('public events')) };
  }

  test('every private read and request channel is here: after the first response, no per-request listener and no log line', async () => {
    expect(await firstResponse()).toEqual({ before: 2, after: 1, lines: [] });
  });

  test('a private read missing (a connections list without all(), as on Deno 2.9): one info line naming it, and the public path from then on', async () => {
    expect(await firstResponse(hideAll)).toEqual({
      before: 2,
      after: 2,
      lines: [
        {
          level: 'info',
          fields: { missing: ["server[Symbol('http.server.connections')]"] },
          message: "this runtime lacks some of Node's private HTTP state: requests are followed through public events",
        },
      ],
    });
  });

  test('forced: requests are followed through public events from attach() on, and nothing is logged (nothing is missing)', async () => {
    (globalThis as Record<symbol, unknown>)[kWithout] = true;
    expect(await firstResponse()).toEqual({ before: 2, after: 2, lines: [] });
  });

  /** The owners the tracker hands to intercept()'s fast check (serving-path.ts) over two responses. */
  async function privatePathOwners(alter: (server: http.Server) => void = () => {}): Promise<number> {
    const owners: object[] = [];
    const tracker = createTracker({
      idleGrace: DEFAULTS.idleGrace,
      discardLimit: DEFAULTS.discardLimit,
      refuseUpgrade: () => ({ status: 503, headers: {}, body: '' }),
      now: systemClock,
      onPrivatePath: (owner) => void owners.push(owner),
    });
    const server = http.createServer((_req, res) => res.end('ok'));
    tracker.attach(server);
    const port = await listen(server);
    alter(server);
    await request(port, { agent: false });
    await request(port, { agent: false });
    tracker.markClosing(true);
    await tracker.drain();
    tracker.dispose();
    return owners.length;
  }

  test("intercept()'s fast check is engaged once the private reads are found, and only then", async () => {
    expect(await privatePathOwners()).toBe(1);
    expect(await privatePathOwners(hideAll)).toBe(0);
    (globalThis as Record<symbol, unknown>)[kWithout] = true;
    expect(await privatePathOwners()).toBe(0);
  });
});

const children: Child[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) await stopChild(child);
});

function start(env: Record<string, string>, options: Record<string, unknown>): Child {
  const child = spawnFixture('server', { LAMEDUCK_OPTIONS: JSON.stringify(options), ...env });
  children.push(child);
  return child;
}

describe.each([
  ['the default path', {}],
  ['the public-API path (forced)', { LAMEDUCK_WITHOUT_NODE_INTERNALS: '1' }],
])(`Node ${process.version}, %s`, (_name, env: Record<string, string>) => {
  test('100 sockets that connected and never sent a request do not hold the drain: exit 0 within idleGrace', async () => {
    const child = start(env, { readinessDelay: 0, timeout: 4_000, idleGrace: 500 });
    const [port] = await ports(child);
    const sockets = await Promise.all(
      Array.from({ length: 100 }, async () => {
        const socket = net.connect(port!, '127.0.0.1');
        socket.on('error', () => {});
        await once(socket, 'connect');
        return socket;
      }),
    );
    // One request answered, so the runtime check has run on the default path.
    await request(port!, { agent: false });
    child.kill('SIGTERM');
    const exit = await child.timedExit;
    for (const socket of sockets) socket.destroy();
    expect(exit.code).toBe(0);
    // Within idleGrace (500 ms), on the child's own clock: they connected before the signal, quiet since.
    // (Held until the deadline, it would be 4,000 ms.)
    const { durations } = child.events.find((line) => line.event === 'result') as { durations: { drain: number } };
    expect(durations.drain).toBeLessThan(750);
  });

  test('requests of 1 s in flight: exit 0 as they finish, not an idleGrace later', async () => {
    const child = start(env, { readinessDelay: 0, timeout: 4_000, idleGrace: 500 });
    const [port] = await ports(child);
    const agent = new http.Agent({ keepAlive: true });
    const allRead = new Promise<void>((resolve) => {
      let read = 0;
      const off = child.onEvent((line) => {
        if (line.event !== 'request' || ++read < 5) return;
        off();
        resolve();
      });
    });
    const replies = Array.from({ length: 5 }, () => request(port!, { path: '/slow?ms=1000', agent }));
    await allRead;
    child.kill('SIGTERM');
    const exit = await child.timedExit;
    expect((await Promise.all(replies)).map((reply) => [reply.status, reply.headers.connection])).toEqual(
      Array.from({ length: 5 }, () => [200, 'close']),
    );
    agent.destroy();
    expect(exit.code).toBe(0);
    expect(child.events.find((line) => line.event === 'result')).toMatchObject({
      graceful: true,
      requests: { completed: 5, rejected: 0, lost: 0 },
    });
    // The responses end at most 1,000 ms into the drain, on the child's own clock; the drain ends with
    // them, not an idleGrace (500 ms) later.
    const { durations } = child.events.find((line) => line.event === 'result') as { durations: { drain: number } };
    expect(durations.drain).toBeLessThan(1_250);
  });
});
