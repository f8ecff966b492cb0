/** Example: a Hono server on @hono/node-server with graceful shutdown by @lameduck/hono, following the examples' contract. */
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { createAdaptorServer, upgradeWebSocket } from '@hono/node-server';
import { notifyReady } from '@lameduck/core';
import { announce, EVENT_HEADERS, eventStream, METRICS_PATH, settings, slow } from '@lameduck/example-contract';
import { graceful, prometheusMetrics, PROMETHEUS_CONTENT_TYPE, type Env } from '@lameduck/hono';
import { Hono } from 'hono';
import { WebSocketServer } from 'ws';

const drain = graceful(settings.lameduck);

const app = new Hono<Env>();
app.use(drain);
app.get('/', (c) => c.text('hello from hono\n'));
app.get('/slow', async (c) => {
  // Handlers reach the manager as c.get('lameduck'), without importing the middleware.
  return c.text(await slow(Number(c.req.query('ms')) || 0, c.get('lameduck').deadlineSignal));
});
// In keepServing: still answered after the listener has closed.
app.get(METRICS_PATH, (c) =>
  c.body(prometheusMetrics(c.get('lameduck')), 200, { 'content-type': PROMETHEUS_CONTENT_TYPE }),
);
app.get('/events', (c) =>
  c.body(Readable.toWeb(eventStream(c.get('lameduck').drainSignal)) as ReadableStream, 200, EVENT_HEADERS),
);
app.get(
  '/ws',
  upgradeWebSocket(() => ({
    onOpen: (_event, socket) => socket.send('hello from hono'),
  })),
);

// node-server's own WebSockets (2.x): a closer says 1001 to their clients when the drain starts.
const wss = new WebSocketServer({ noServer: true });
drain.lameduck.addCloser(() => {
  for (const client of wss.clients) client.close(1001, 'server shutting down');
});

// createAdaptorServer() rather than serve(): it listens where the contract says (a systemd socket, say).
// `hostname` is also the host of requests that name none: without it node-server answers them 400 before
// Hono runs, and HAProxy's default health check (`option httpchk`, HTTP/1.0 without Host) never passes.
const server = createAdaptorServer({ fetch: app.fetch, hostname: settings.host, websocket: { server: wss } });
// Attached before it listens: a SIGTERM before any request, or a WebSocket, must be seen too.
drain.lameduck.attach(server);
server.listen(settings.listen, () => {
  announce((server.address() as AddressInfo).port, 'hono');
  void notifyReady(drain.lameduck); // tells PM2 (wait_ready) or @lameduck/cluster's primary, when there is one
});
