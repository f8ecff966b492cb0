/** OpenTelemetry's Node SDK under lameduck: every span of the requests answered during the drain reaches an OTLP/HTTP receiver before exit, and the SDK's shutdown is bounded. */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { closeServer, request, spawnChild, stopChild, type Child, type Line } from '@lameduck/test-utils';

const FIXTURES = path.join(__dirname, 'fixtures');
/** Requests in flight at SIGTERM, each answered during the drain. */
const REQUESTS = 10;

interface ExportedSpan {
  traceId: string;
  name: string;
}

/** An OTLP/HTTP receiver on loopback: keeps the spans of every JSON export; `hang` never answers one. */
async function startReceiver(
  hang = false,
): Promise<{ url: string; spans: ExportedSpan[]; posts: number; close(): Promise<void> }> {
  const received = { spans: [] as ExportedSpan[], posts: 0 };
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      received.posts++;
      const payload = JSON.parse(body) as {
        resourceSpans: { scopeSpans: { spans: ExportedSpan[] }[] }[];
      };
      for (const resource of payload.resourceSpans) {
        for (const scope of resource.scopeSpans) {
          for (const span of scope.spans) received.spans.push({ traceId: span.traceId, name: span.name });
        }
      }
      if (hang) return;
      res.setHeader('content-type', 'application/json');
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`,
    get spans() {
      return received.spans;
    },
    get posts() {
      return received.posts;
    },
    close: () => {
      server.closeAllConnections();
      return closeServer(server);
    },
  };
}

const children: Child[] = [];
afterEach(async () => {
  await Promise.all(children.splice(0).map(stopChild));
});

function startApp(otlpUrl: string, env: Record<string, string> = {}): Child {
  const child = spawnChild(
    [
      '--conditions=@lameduck/source',
      '--import',
      'tsx',
      '--import',
      path.join(FIXTURES, 'otel-tracing.ts'),
      path.join(FIXTURES, 'otel-app.ts'),
    ],
    // Traces only: unless told otherwise, NodeSDK also exports metrics over OTLP to localhost:4318, and with
    // nothing there its shutdown took 9 s (each retry until the exporter's own timeout).
    { env: { OTLP_URL: otlpUrl, OTEL_METRICS_EXPORTER: 'none', ...env } },
  );
  children.push(child);
  return child;
}

/** Starts REQUESTS requests, each in a trace of its own, and sends SIGTERM once the app has them all. */
async function drainRequests(app: Child): Promise<{ traceIds: string[]; statuses: number[] }> {
  const { port } = await app.event((line: Line) => line.event === 'ready');
  const traceIds = Array.from({ length: REQUESTS }, () => randomBytes(16).toString('hex'));
  const replies = traceIds.map((traceId) =>
    request(Number(port), {
      path: '/work',
      agent: false,
      headers: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
    }),
  );
  let seen = 0;
  await new Promise<void>((resolve) => {
    const stop = app.onEvent((line) => {
      if (line.event === 'request' && ++seen === REQUESTS) {
        stop();
        resolve();
      }
    });
  });
  app.kill('SIGTERM');
  return { traceIds, statuses: (await Promise.all(replies)).map((reply) => reply.status) };
}

test('every span of every request answered during the drain is exported before exit; the telemetry hook runs last', async () => {
  const receiver = await startReceiver();
  try {
    const app = startApp(receiver.url);
    const { traceIds, statuses } = await drainRequests(app);
    expect(statuses).toEqual(Array(REQUESTS).fill(200));
    expect(await app.event((line) => line.event === 'result')).toMatchObject({ exitCode: 0, hookFailures: [] });
    expect(await app.exited).toEqual({ code: 0, signal: null });
    for (const traceId of traceIds) {
      // The server span of the HTTP instrumentation, and the app's own.
      const names = receiver.spans.filter((span) => span.traceId === traceId).map((span) => span.name);
      expect([traceId, names.sort()]).toEqual([traceId, ['GET', 'work']]);
    }
    // A hook registered after the telemetry one still ran before it: its span was exported too.
    expect(receiver.spans.filter((span) => span.name === 'pool.end')).toHaveLength(1);
  } finally {
    await receiver.close();
  }
}, 60_000);

test('without the telemetry hook, the spans of the drain are lost at exit', async () => {
  const receiver = await startReceiver();
  try {
    const app = startApp(receiver.url, { TELEMETRY_HOOK: '0' });
    const { traceIds, statuses } = await drainRequests(app);
    expect(statuses).toEqual(Array(REQUESTS).fill(200));
    expect(await app.exited).toEqual({ code: 0, signal: null });
    const exported = new Set(receiver.spans.map((span) => span.traceId));
    expect(traceIds.filter((traceId) => exported.has(traceId)).length).toBeLessThan(REQUESTS);
  } finally {
    await receiver.close();
  }
}, 60_000);

test("the SDK's shutdown is bounded by the hook's time: a collector that never answers does not hold the exit", async () => {
  const receiver = await startReceiver(true);
  try {
    const options = { timeout: 4_000, cleanupReserve: 2_000, hookTimeout: 1_000 };
    const app = startApp(receiver.url, { LAMEDUCK_OPTIONS: JSON.stringify(options) });
    const { statuses } = await drainRequests(app);
    const signalled = app.clock();
    expect(statuses).toEqual(Array(REQUESTS).fill(200));
    const result = await app.event((line) => line.event === 'result');
    const exit = await app.timedExit;
    expect(result).toEqual({ event: 'result', exitCode: 1, hookFailures: ['opentelemetry'] });
    expect(exit).toMatchObject({ code: 1, signal: null });
    // The export was under way (the collector got it) when the hook's time ran out.
    expect(receiver.posts).toBeGreaterThan(0);
    expect(exit.at - signalled).toBeLessThan(options.timeout);
  } finally {
    await receiver.close();
  }
}, 60_000);
