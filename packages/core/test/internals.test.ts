/** Node's private HTTP state as lameduck reads it (tracker/internals.ts): each read on this Node, and each fallback when it cannot be read. */
import http from 'node:http';
import type http2 from 'node:http2';
import net from 'node:net';
import { createLameduck } from '@lameduck/core';
import { deferred, listen, once, request, type Line } from '@lameduck/test-utils';
import { spawnFixture } from './helpers.js';
import {
  closeAfterResponseTo,
  currentRequest,
  lastActive,
  serverSockets,
  sessionStreams,
  socketRequests,
  streamRequest,
  timersNow,
  tlsParent,
} from '../src/tracker/internals.js';

/**
 * What each read finds in the fixture, by the private state it reads. CI runs this file on every Node
 * major it supports (scripts/test-on-nodes.mjs): a minor that moves one of these fails the test named
 * after it, on that Node.
 */
const EXPECTED: Record<string, unknown> = {
  'socket._httpMessage, socket.parser.incoming (socketRequests): the response being written, the last request parsed': {
    response: true,
    last: true,
  },
  'socket._httpMessage.req (currentRequest)': true,
  "server[Symbol('http.server.connections')] (serverSockets)": true,
  'ServerResponse.prototype._storeHeader (closeAfterResponseTo): hooked': true,
  'ServerResponse.prototype._storeHeader (closeAfterResponseTo): the queued response closes, the first keeps alive': {
    first: true,
    second: true,
  },
  'ServerResponse.prototype._storeHeader (keepAfterResponseTo): the hook is gone': true,
  'socket[kTimeout]._idleStart (lastActive), timer._idleStart (timersNow): last active, at or before now': {
    number: true,
    before: true,
  },
  'socket._httpMessage, socket.parser.incoming (socketRequests): nothing in flight on an idle socket': true,
  'session[kState].streams, stream[kRequest] (sessionStreams, streamRequest)': {
    count: 1,
    request: { method: 'GET', url: '/h2?x=1' },
  },
  'tlsSocket._parent (tlsParent)': true,
};

describe(`Node ${process.version}: each read of Node's private HTTP state finds what lameduck expects`, () => {
  let found: Promise<{ code: number | null; stderr: unknown; checks: Map<string, unknown> }>;
  beforeAll(() => {
    const child = spawnFixture('internals');
    found = child.exited.then(({ code }) => ({
      code,
      stderr: child.output.stderr,
      checks: new Map(
        child.events.filter((line: Line) => line.event === 'check').map((line) => [line.name as string, line.found]),
      ),
    }));
  });

  test('the fixture ran every check and exited 0', async () => {
    const { code, stderr, checks } = await found;
    expect({ code, stderr, checks: [...checks.keys()] }).toEqual({
      code: 0,
      stderr: [],
      checks: [...Object.keys(EXPECTED), 'done'],
    });
  });

  test.each(Object.keys(EXPECTED))('%s', async (name) => {
    expect((await found).checks.get(name)).toEqual(EXPECTED[name]);
  });
});

describe(`Node ${process.version}: when Node's private state has another shape, each read answers "unknown"`, () => {
  const symbolled = (description: string, value: unknown) => ({ [Symbol(description)]: value });

  test('socketRequests, currentRequest: a socket whose message or parsed request is something else', () => {
    const message = Object.assign(new net.Socket(), { parser: { incoming: null }, _httpMessage: {} });
    const incoming = Object.assign(new net.Socket(), { parser: { incoming: { method: 'GET' } } });
    expect([socketRequests(message), currentRequest(message), socketRequests(incoming)]).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
    // A socket without a parser is not an HTTP/1 socket Node can tell about.
    expect(socketRequests(new net.Socket())).toBeUndefined();
  });

  test('serverSockets: no connections list, or one without all()', () => {
    const servers = [{}, symbolled('http.server.connections', {}), symbolled('http.server.connections', null)];
    expect(servers.map((server) => serverSockets(server as unknown as http.Server))).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
  });

  test('sessionStreams, streamRequest: no state, streams that are not a Map, a request without method and url', () => {
    const sessions = [{}, symbolled('state', { streams: [] }), symbolled('state', null)];
    expect(sessions.map((session) => sessionStreams(session as unknown as http2.Http2Session))).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
    const streams = [{}, symbolled('request', { method: 1, url: '/' }), symbolled('request', null)];
    expect(streams.map((stream) => streamRequest(stream as unknown as http2.Http2Stream))).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
  });

  test('lastActive: no keep-alive timer, or one whose fields are not numbers or that was cleared', () => {
    const socket = new net.Socket();
    expect(lastActive(socket)).toBeUndefined();
    const key = Object.getOwnPropertySymbols(socket).find((symbol) => symbol.description === 'timeout');
    expect(key).toBeDefined();
    const timed = (timer: unknown) => Object.assign(new net.Socket(), { [key!]: timer });
    expect(
      [{ _idleStart: '1', _idleTimeout: 5_000 }, { _idleStart: 1, _idleTimeout: -1 }, null].map((timer) =>
        lastActive(timed(timer)),
      ),
    ).toEqual([undefined, undefined, undefined]);
  });

  test('tlsParent: a TLS socket whose _parent is not a socket', () => {
    expect([tlsParent({ _parent: {} } as unknown as net.Socket), tlsParent(new net.Socket())]).toEqual([
      undefined,
      undefined,
    ]);
  });

  test('closeAfterResponseTo: no _storeHeader to hook; the request is not marked', () => {
    const proto = http.ServerResponse.prototype as unknown as { _storeHeader?: unknown };
    proto._storeHeader = undefined;
    try {
      const req = new http.IncomingMessage(new net.Socket());
      expect(closeAfterResponseTo(req)).toBe(false);
      expect(Object.getOwnPropertySymbols(req).map(String)).not.toContain('Symbol(lameduck.closeAfterResponse)');
    } finally {
      delete proto._storeHeader;
    }
    expect(typeof proto._storeHeader).toBe('function');
  });
});

describe(`Node ${process.version}: when Node internals cannot be read`, () => {
  const kWithout = Symbol.for('lameduck.withoutNodeInternals');
  beforeEach(() => ((globalThis as Record<symbol, unknown>)[kWithout] = true));
  afterEach(() => delete (globalThis as Record<symbol, unknown>)[kWithout]);

  test('every read answers "unknown"', async () => {
    const server = http.createServer((_req, res) => res.end('ok'));
    const port = await listen(server);
    await request(port, { agent: false });
    const socket = new net.Socket();
    const reads = [
      socketRequests(socket),
      currentRequest(socket),
      serverSockets(server),
      timersNow(),
      tlsParent(Object.assign(new net.Socket(), { _parent: new net.Socket() })),
      sessionStreams({} as http2.Http2Session),
      streamRequest({} as http2.Http2Stream),
      closeAfterResponseTo(new http.IncomingMessage(socket)),
    ];
    expect(reads).toEqual([undefined, undefined, undefined, undefined, undefined, undefined, undefined, false]);
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

  test('a request that hangs is waited for until the deadline, then destroyed: forced, not graceful', async () => {
    const lameduck = createLameduck({
      silent: true,
      readinessDelay: 0,
      idleGrace: 20,
      timeout: 600,
      cleanupReserve: 200,
    });
    const arrived = deferred();
    const server = http.createServer(() => arrived.resolve());
    lameduck.attach(server);
    const port = await listen(server);
    const hung = request(port, { path: '/hang', agent: false }).catch((error: NodeJS.ErrnoException) => error);
    await arrived.promise;
    const result = await lameduck.shutdown();
    expect(result).toMatchObject({ graceful: false, forced: true, exitCode: 1, destroyedConnections: 1 });
    expect(((await hung) as NodeJS.ErrnoException).code).toBe('ECONNRESET');
  });
});
