/** Example: a Koa 3 server with graceful shutdown by @lameduck/koa, following the examples' contract. */
import type { AddressInfo } from 'node:net';
import { notifyReady } from '@lameduck/core';
import { announce, EVENT_HEADERS, eventStream, METRICS_PATH, settings, slow } from '@lameduck/example-contract';
import { graceful, prometheusMetrics, PROMETHEUS_CONTENT_TYPE } from '@lameduck/koa';
import Koa from 'koa';
import { WebSocketServer } from 'ws';

const drain = graceful(settings.lameduck);

const app = new Koa();
app.use(drain);
app.use(async (ctx) => {
  if (ctx.path === '/slow') {
    // Middleware reaches the manager as ctx.lameduck, without importing the middleware.
    ctx.body = await slow(Number(ctx.query.ms) || 0, ctx.lameduck.deadlineSignal);
  } else if (ctx.path === METRICS_PATH) {
    // In keepServing: still answered after the listener has closed.
    ctx.type = PROMETHEUS_CONTENT_TYPE;
    ctx.body = prometheusMetrics(ctx.lameduck);
  } else if (ctx.path === '/events') {
    ctx.set(EVENT_HEADERS);
    ctx.body = eventStream(drain.lameduck.drainSignal);
  } else if (ctx.path === '/') {
    ctx.body = 'hello from koa\n';
  }
});

const server = app.listen(settings.listen, () => {
  announce((server.address() as AddressInfo).port, 'koa');
  void notifyReady(drain.lameduck); // tells PM2 (wait_ready) or @lameduck/cluster's primary, when there is one
});
// Attached now, not with the first request: a SIGTERM before any request, or a WebSocket, must be seen too.
drain.lameduck.attach(server);

const wss = new WebSocketServer({ server, path: '/ws' });
wss.on('connection', (socket) => socket.send('hello from koa'));
drain.lameduck.addCloser(() => {
  for (const client of wss.clients) client.close(1001, 'server shutting down');
});
