/** Example: a Fastify 5 server with graceful shutdown by @lameduck/fastify, following the examples' contract. */
import type { AddressInfo } from 'node:net';
import websocket from '@fastify/websocket';
import { notifyReady } from '@lameduck/core';
import { announce, EVENT_HEADERS, eventStream, METRICS_PATH, settings, slow } from '@lameduck/example-contract';
import graceful, { prometheusMetrics, PROMETHEUS_CONTENT_TYPE } from '@lameduck/fastify';
import Fastify from 'fastify';

const app = Fastify();
await app.register(graceful, settings.lameduck);
await app.register(websocket);
app.lameduck.addCloser(() => {
  for (const client of app.websocketServer.clients) client.close(1001, 'server shutting down');
});

app.get('/', async () => 'hello from fastify\n');
app.get<{ Querystring: { ms?: string } }>('/slow', async (request) =>
  slow(Number(request.query.ms) || 0, app.lameduck.deadlineSignal),
);
// In keepServing: still answered after the listener has closed.
app.get(METRICS_PATH, (_request, reply) => reply.type(PROMETHEUS_CONTENT_TYPE).send(prometheusMetrics(app.lameduck)));
app.get('/events', (_request, reply) => reply.headers(EVENT_HEADERS).send(eventStream(app.lameduck.drainSignal)));
app.get('/ws', { websocket: true }, (socket) => socket.send('hello from fastify'));

// host with fd too: Fastify otherwise defaults it to localhost and binds a second socket for ::1.
await app.listen({ host: settings.host, ...settings.listen });
announce((app.server.address() as AddressInfo).port, 'fastify');
void notifyReady(app.lameduck); // tells PM2 (wait_ready) or @lameduck/cluster's primary, when there is one
