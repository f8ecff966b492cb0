/** Example: an Express 5 server with graceful shutdown by @lameduck/express, following the examples' contract. */
import type { AddressInfo } from 'node:net';
import { notifyReady } from '@lameduck/core';
import { graceful, prometheusMetrics, PROMETHEUS_CONTENT_TYPE } from '@lameduck/express';
import { announce, EVENT_HEADERS, eventStream, METRICS_PATH, settings, slow } from '@lameduck/example-contract';
import express from 'express';
import { WebSocketServer } from 'ws';

const drain = graceful(settings.lameduck);

const app = express();
app.use(drain);
app.get('/', (_req, res) => {
  res.send('hello from express\n');
});
app.get('/slow', async (req, res) => {
  // Route modules reach the manager through req.app.locals, without importing the middleware.
  res.send(await slow(Number(req.query.ms) || 0, req.app.locals.lameduck.deadlineSignal));
});
// In keepServing: still answered after the listener has closed.
app.get(METRICS_PATH, (req, res) => {
  res.type(PROMETHEUS_CONTENT_TYPE).send(prometheusMetrics(req.app.locals.lameduck));
});
app.get('/events', (_req, res) => {
  res.writeHead(200, EVENT_HEADERS);
  eventStream(drain.lameduck.drainSignal).pipe(res);
});

const server = app.listen(settings.listen, (error) => {
  if (error) throw error;
  announce((server.address() as AddressInfo).port, 'express');
  void notifyReady(drain.lameduck); // tells PM2 (wait_ready) or @lameduck/cluster's primary, when there is one
});
// Attached now, not with the first request: a SIGTERM before any request, or a WebSocket, must be seen too.
drain.lameduck.attach(server);

const wss = new WebSocketServer({ server, path: '/ws' });
wss.on('connection', (socket) => socket.send('hello from express'));
drain.lameduck.addCloser(() => {
  for (const client of wss.clients) client.close(1001, 'server shutting down');
});
