/** Socket.IO 4 on Express with @lameduck/express, in process: what holds the drain today, and drainSocketIo() against real clients on both transports. */
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { drainSocketIo, type Lameduck } from '@lameduck/core';
import { graceful } from '@lameduck/express';
import { deferred, once } from '@lameduck/test-utils';
import express from 'express';
import { Server } from 'socket.io';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';

type Transport = 'polling' | 'websocket';

/** A client that connected, and when and why it disconnected (on `performance.now()`). */
interface Client {
  socket: ClientSocket;
  transport: Transport;
  disconnected: Promise<{ reason: string; at: number }>;
}

interface Stack {
  lameduck: Lameduck;
  io: Server;
  server: HttpServer;
  url: string;
}

const stacks: Stack[] = [];
const clients: Client[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.close();
  for (const { lameduck, io } of stacks.splice(0)) {
    io.engine.close(); // what a test left connected
    await lameduck.shutdown('test over', { readinessDelay: 0 });
  }
});

/** Express + @lameduck/express + Socket.IO on one server, as the Socket.IO docs set them up. */
async function startStack(timeout: number, wire?: (lameduck: Lameduck, io: Server) => void): Promise<Stack> {
  const app = express();
  const drain = graceful({ timeout, readinessDelay: 0, silent: true, handleSignals: false });
  app.use(drain);
  app.get('/', (_req, res) => res.send('hello'));
  const server = app.listen(0, '127.0.0.1');
  drain.lameduck.attach(server); // Socket.IO's requests never reach the middleware
  const io = new Server(server, { pingInterval: 25_000 });
  io.on('connection', (socket) => socket.emit('welcome'));
  wire?.(drain.lameduck, io);
  await once(server, 'listening');
  const stack = {
    lameduck: drain.lameduck,
    io,
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  };
  stacks.push(stack);
  return stack;
}

/** Resolves at `name`, emitted by a socket.io-client Socket or Manager (their emitter is not Node's). */
function nextEvent(emitter: ClientSocket | ClientSocket['io'], name: 'connect' | 'reconnect_attempt'): Promise<void> {
  return new Promise((resolve) => (emitter as ClientSocket).once(name as 'connect', () => resolve()));
}

/** Connects one socket.io-client on one transport; resolves once it has connected. */
async function connectClient(url: string, transport: Transport): Promise<Client> {
  const socket = connect(url, { transports: [transport], reconnectionDelay: 60_000, randomizationFactor: 0 });
  const disconnected = deferred<{ reason: string; at: number }>();
  socket.once('disconnect', (reason) => disconnected.resolve({ reason, at: performance.now() }));
  const client = { socket, transport, disconnected: disconnected.promise };
  clients.push(client);
  await nextEvent(socket, 'connect');
  return client;
}

/**
 * Half polling, half WebSocket, all connected and each polling client's long poll pending, as with
 * clients connected for a while. (One caught between two polls when the listener closes finds its next
 * poll refused: "transport error", which reconnects as "transport close" does.)
 */
async function connectMany({ url, io }: Stack, count: number): Promise<Client[]> {
  const transports: Transport[] = ['polling', 'websocket'];
  const many = await Promise.all(
    Array.from({ length: count }, (_, index) => connectClient(url, transports[index % 2]!)),
  );
  const polls = [...io.of('/').sockets.values()].map(({ conn }) =>
    conn.transport.name === 'polling' && !conn.transport.writable ? once(conn.transport, 'ready') : undefined,
  );
  await Promise.all(polls);
  return many;
}

test('without a closer, 20 Socket.IO clients hold the drain until the deadline forces it', async () => {
  const stack = await startStack(1_500);
  await connectMany(stack, 20);
  const { lameduck } = stack;
  const result = await lameduck.shutdown('deploy');
  expect(result).toMatchObject({ forced: true, exitCode: 1 });
  // WebSocket clients are upgraded connections; polling clients' long-poll requests are in flight.
  expect(result.stuckUpgrades.length).toBe(10);
  expect(result.stuckRequests.length).toBe(10);
  for (const request of result.stuckRequests)
    expect(request).toMatchObject({
      method: 'GET',
      url: expect.stringMatching(/^\/socket\.io\/\?EIO=4&transport=polling&/),
    });
});

test('drainSocketIo(): every client, polling or WebSocket, is moved at once with "transport close"; exit 0, nothing forced', async () => {
  const stack = await startStack(10_000, (lameduck, io) => drainSocketIo(lameduck, io));
  const { lameduck } = stack;
  const many = await connectMany(stack, 20);
  const started = performance.now();
  const result = await lameduck.shutdown('deploy');
  expect(result).toMatchObject({ forced: false, graceful: true, exitCode: 0, stuckRequests: [], stuckUpgrades: [] });
  for (const client of many) {
    const { reason } = await client.disconnected;
    expect(reason).toBe('transport close');
    // Still active: socket.io-client reconnects on its own.
    expect(client.socket.active).toBe(true);
  }
  // 20 clients at 1000 a second: the whole shutdown is a matter of milliseconds, not the deadline.
  expect(performance.now() - started).toBeLessThan(1_000);
});

test('drainSocketIo(): WebSocket clients leave at `rate` a second; polling clients at once', async () => {
  const rate = 50; // 10 WebSocket clients: 200 ms
  const stack = await startStack(10_000, (lameduck, io) => drainSocketIo(lameduck, io, { rate }));
  const { lameduck } = stack;
  const many = await connectMany(stack, 20);
  const drainStarted = deferred<number>();
  lameduck.drainSignal.addEventListener('abort', () => drainStarted.resolve(performance.now()));
  const result = await lameduck.shutdown('deploy');
  expect(result.exitCode).toBe(0);
  const start = await drainStarted.promise;
  const left = await Promise.all(many.map(async (client) => ({ ...client, ...(await client.disconnected) })));
  const polling = left.filter((client) => client.transport === 'polling').map((client) => client.at - start);
  const websocket = left.filter((client) => client.transport === 'websocket').map((client) => client.at - start);
  expect(Math.max(...polling)).toBeLessThan(100);
  websocket.sort((a, b) => a - b);
  // The i-th WebSocket client is closed no earlier than i / rate after the drain started.
  websocket.forEach((at, index) => expect(at).toBeGreaterThanOrEqual((index * 1000) / rate - 1));
  expect(websocket.at(-1)).toBeLessThan(200 + 150);
});

test('drainSocketIo(): `window` bounds the move whatever `rate` says', async () => {
  const stack = await startStack(10_000, (lameduck, io) => drainSocketIo(lameduck, io, { rate: 1, window: 300 }));
  const { lameduck } = stack;
  const many = await connectMany(stack, 8);
  const started = performance.now();
  const result = await lameduck.shutdown('deploy');
  expect(result.exitCode).toBe(0);
  const times = await Promise.all(many.map(async (client) => (await client.disconnected).at - started));
  expect(Math.max(...times)).toBeGreaterThanOrEqual(300 - 1);
  expect(Math.max(...times)).toBeLessThan(300 + 200);
});

test('drainSocketIo(): the default window, "auto", is half the time the drain has before deadlineSignal', async () => {
  // timeout 2000: cleanupReserve 400, abortBefore 320: "auto" is half of 1280 ms. At 1 a second, 4 clients would take 4 s.
  const stack = await startStack(2_000, (lameduck, io) => drainSocketIo(lameduck, io, { rate: 1 }));
  const { lameduck } = stack;
  const many = await connectMany(stack, 8);
  const started = performance.now();
  const result = await lameduck.shutdown('deploy');
  expect(result).toMatchObject({ forced: false, exitCode: 0 });
  const times = await Promise.all(many.map(async (client) => (await client.disconnected).at - started));
  expect(Math.max(...times)).toBeGreaterThanOrEqual(640 - 1);
  expect(Math.max(...times)).toBeLessThan(640 + 200);
});

test.each([
  [{ rate: 0 }, 'rate', 0],
  [{ rate: Number.NaN }, 'rate', Number.NaN],
  [{ window: -1 }, 'window', -1],
  [{ window: 1.5 }, 'window', 1.5],
  [{ window: 'soon' }, 'window', 'soon'],
])('drainSocketIo(%p) throws LAMEDUCK_INVALID_OPTION naming %s', async (options, option, received) => {
  const { lameduck, io } = await startStack(1_000);
  expect(() => drainSocketIo(lameduck, io, options as never)).toThrow(
    expect.objectContaining({ code: 'LAMEDUCK_INVALID_OPTION', option, received }),
  );
});

describe('what Socket.IO clients do after each way of closing (no lameduck involved)', () => {
  test('io.engine.close(): "transport close", and the client reconnects by itself', async () => {
    const { io, url } = await startStack(10_000);
    const both = [await connectClient(url, 'polling'), await connectClient(url, 'websocket')];
    for (const client of both) client.socket.io.reconnectionDelay(0);
    const attempts = both.map((client) => nextEvent(client.socket.io, 'reconnect_attempt'));
    io.engine.close();
    for (const client of both) {
      expect(await client.disconnected).toMatchObject({ reason: 'transport close' });
      expect(client.socket.active).toBe(true);
    }
    await Promise.all(attempts);
  });

  test('io.disconnectSockets(true): "io server disconnect", and the client stays away', async () => {
    const { io, url } = await startStack(10_000);
    // WebSocket only: for a polling client engine.io would then wait 30 s, on a timer of its own, for a poll that never comes.
    const client = await connectClient(url, 'websocket');
    io.disconnectSockets(true);
    expect(await client.disconnected).toMatchObject({ reason: 'io server disconnect' });
    expect(client.socket.active).toBe(false);
  });
});
