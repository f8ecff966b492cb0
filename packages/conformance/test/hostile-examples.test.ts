/** The examples under hostile traffic across a real SIGTERM (issue 8): the exit code and the log are the product. */
import net from 'node:net';
import { request, type Child, type Line } from '@lameduck/test-utils';
import { listening, startExample, stopExamples } from './example-process.js';
import { drip, parseResponses, rawClient, type RawClient, type RawResponse } from './raw-http.js';

/*
 * Each scenario runs on two examples, and every example runs at least one: a child process costs
 * seconds of start-up, and the conformance suite already runs every scenario in-process on every
 * framework. What only a child shows is the exit code and the log after a real signal.
 */
/** Long enough that waiting for the deadline shows as `forced`, never as a slow pass. */
const LONG = { READINESS_DELAY_MS: '0', SHUTDOWN_TIMEOUT_MS: '20000' };
const message = (text: string) => (line: Line) => line.msg === text;

afterEach(stopExamples);

/** Sends `requests` on one new connection; resolves once the first `100 Continue` proves they were read. */
async function sendRead(port: number, requests: string): Promise<RawClient> {
  const client = await rawClient(port);
  client.socket.write(requests);
  await client.waitUntil((data) => data.includes('HTTP/1.1 100 Continue\r\n'));
  return client;
}

async function completed(example: Child): Promise<Line> {
  return example.log(message('shutdown complete'));
}

const summary = (responses: RawResponse[]) =>
  responses.map(({ status, body, headers }) => ({ status, body, connection: headers.connection }));

describe.each(['node-http', 'koa', 'hono', 'nestjs', 'nestjs-fastify'])('examples/%s: pipelining', (name) => {
  // Issue 8, item 1. Before the fix: one 200 with Connection: close, then the socket closes; the log says
  // graceful, requests.completed 1, and the exit code is 0.
  test('three pipelined requests across SIGTERM: three 200s in order, only the last closes; exit 0', async () => {
    const example = startExample(name, LONG);
    const port = await listening(example);
    // One write; the server parses all three at once, so the first one's 100 Continue proves all were read.
    const ask = (expect: string) => `GET /slow?ms=300 HTTP/1.1\r\nHost: localhost\r\n${expect}\r\n`;
    const client = await sendRead(port, ask('Expect: 100-continue\r\n') + ask('') + ask(''));
    example.kill('SIGTERM');
    expect(await client.closed).toBe('end');
    const done = { status: 200, body: 'done after 300 ms\n' };
    expect(summary(client.responses())).toEqual([
      { ...done, connection: 'keep-alive' },
      { ...done, connection: 'keep-alive' },
      { ...done, connection: 'close' },
    ]);
    expect(await example.exited).toEqual({ code: 0, signal: null });
    expect(await completed(example)).toMatchObject({ graceful: true, forced: false, requests: { completed: 3 } });
  });
});

describe.each(['express', 'fastify'])('examples/%s: clients that vanish, and a signal storm', (name) => {
  test('200 clients vanish (RST) with requests in flight, then 20 SIGTERMs at once: one drain, exit 0', async () => {
    const example = startExample(name, LONG);
    const port = await listening(example);
    const vanished = await Promise.all(
      Array.from({ length: 200 }, async () => {
        const client = await sendRead(
          port,
          'GET /slow?ms=15000 HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\n\r\n',
        );
        client.socket.resetAndDestroy();
        return client.closed;
      }),
    );
    expect(vanished).toEqual(Array(200).fill('destroyed'));
    const client = await sendRead(port, 'GET /slow?ms=300 HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\n\r\n');
    // As fast as the parent can send them: well inside the 250 ms repeat window.
    for (let sent = 0; sent < 20; sent++) example.kill('SIGTERM');
    expect(await client.closed).toBe('end');
    expect(summary(client.responses())).toEqual([{ status: 200, body: 'done after 300 ms\n', connection: 'close' }]);
    expect(await example.exited).toEqual({ code: 0, signal: null });
    expect(example.logs.filter(message('shutdown started: readiness fails now'))).toHaveLength(1);
    // The vanished requests hold nothing: only the 300 ms request is waited for, nothing is forced.
    expect(example.logs.filter(message('shutdown complete'))).toEqual([
      expect.objectContaining({ graceful: true, forced: false, destroyedConnections: 0, stuckRequests: 0 }),
    ]);
  });
});

// The drip holds sockets mid-headers, below any framework; Fastify adds its own connection handling.
describe.each(['node-http', 'fastify'])('examples/%s: slow drips', (name) => {
  // Issue 8, item 2. Before the fix: a dripping socket is never quiet for idleGrace, so the drain holds until the
  // deadline (20 s); every dripper outlasts its budget and closes the socket itself.
  test('50 sockets dripping a request line across SIGTERM are closed soon after the drain starts; exit 0', async () => {
    const example = startExample(name, LONG);
    const port = await listening(example);
    // The examples' idleGrace is the default 500 ms: a byte every 50 ms keeps each socket busy. After
    // SIGTERM each may send 60 more bytes (3 s), three times the 2 × idleGrace rule.
    const drippers = Array.from({ length: 50 }, () =>
      drip(port, `GET / HTTP/1.1\r\nHost: localhost\r\nX-Drip: ${'a'.repeat(500)}`, 50),
    );
    await Promise.all(drippers.map((dripper) => dripper.started));
    // Accepted in order: once a later connection is answered, the server has accepted every dripper.
    expect((await request(port, { agent: false })).status).toBe(200);
    example.kill('SIGTERM');
    for (const dripper of drippers) dripper.limit(60);
    const started = await example.log(message('shutdown started: readiness fails now'));
    expect(started.connections).toBeGreaterThanOrEqual(50);
    const outcomes = await Promise.all(drippers.map((dripper) => dripper.outcome));
    expect(await example.exited).toEqual({ code: 0, signal: null });
    const tally = (outcome: string) => outcomes.filter((seen) => seen === outcome).length;
    expect({ closed: tally('closed'), outlasted: tally('outlasted'), sent: tally('sent') }).toEqual({
      closed: 50,
      outlasted: 0,
      sent: 0,
    });
    expect(await completed(example)).toMatchObject({ graceful: true, forced: false, destroyedConnections: 0 });
  });
});

// One example: the flood is the heaviest scenario here, and it exercises the listener and the kernel's
// accept queue, which every example shares through node:http.
describe('examples/node-http: a connection flood', () => {
  test('2,000 new connections during a 2 s drain: the request in flight still gets its 200; exit 0', async () => {
    const example = startExample('node-http', { READINESS_DELAY_MS: '500', SHUTDOWN_TIMEOUT_MS: '20000' });
    const port = await listening(example);
    const slow = await sendRead(port, 'GET /slow?ms=2000 HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\n\r\n');
    example.kill('SIGTERM');
    await example.log(message('shutdown started: readiness fails now'));

    const outcomes = { served: 0, rejected: 0, refused: 0, reset: 0, other: [] as string[] };
    let next = 0;
    async function flooder(): Promise<void> {
      while (next < 2_000) {
        next++;
        const socket = net.connect(port, '127.0.0.1');
        let data = '';
        socket.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')));
        socket.on('connect', () => socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'));
        const how = await new Promise<string>((resolve) => {
          socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
          socket.on('close', () => resolve('closed'));
        });
        const [response, ...more] = parseResponses(data, [], true);
        const closes = response?.headers.connection === 'close' && more.length === 0;
        if (how === 'ECONNREFUSED') outcomes.refused++;
        else if (how === 'ECONNRESET' && data === '') outcomes.reset++;
        else if (closes && response.status === 200 && response.body === 'hello from node:http\n') outcomes.served++;
        else if (closes && response.status === 503 && response.headers['retry-after'] === '5') outcomes.rejected++;
        else outcomes.other.push(`${how}: ${JSON.stringify(data)}`);
      }
    }
    await Promise.all(Array.from({ length: 50 }, flooder));

    expect(outcomes.other).toEqual([]);
    expect(outcomes.served + outcomes.rejected + outcomes.refused + outcomes.reset).toBe(2_000);
    expect(await slow.closed).toBe('end');
    expect(summary(slow.responses())).toEqual([{ status: 200, body: 'done after 2000 ms\n', connection: 'close' }]);
    expect(await example.exited).toEqual({ code: 0, signal: null });
    expect(await completed(example)).toMatchObject({ graceful: true, forced: false, destroyedConnections: 0 });
  });
});
