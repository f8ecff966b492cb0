/** Example: a plain node:http server with graceful shutdown by @lameduck/core, following the examples' contract. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLameduck, notifyReady, prometheusMetrics, PROMETHEUS_CONTENT_TYPE } from '@lameduck/core';
import { announce, EVENT_HEADERS, eventStream, METRICS_PATH, settings, slow } from '@lameduck/example-contract';
import { WebSocketServer } from 'ws';

const lameduck = createLameduck(settings.lameduck);

const server = http.createServer((req, res) => {
  if (lameduck.handle(req, res)) return;
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/slow') {
    void slow(Number(url.searchParams.get('ms')) || 0, lameduck.deadlineSignal).then((body) => res.end(body));
  } else if (url.pathname === METRICS_PATH) {
    // In keepServing: still answered after the listener has closed.
    res.setHeader('content-type', PROMETHEUS_CONTENT_TYPE);
    res.end(prometheusMetrics(lameduck));
  } else if (url.pathname === '/events') {
    res.writeHead(200, EVENT_HEADERS);
    eventStream(lameduck.drainSignal).pipe(res);
  } else if (url.pathname === '/') {
    res.end('hello from node:http\n');
  } else {
    res.statusCode = 404;
    res.end('not found\n');
  }
});
lameduck.attach(server);

const wss = new WebSocketServer({ server, path: '/ws' });
wss.on('connection', (socket) => socket.send('hello from node:http'));
lameduck.addCloser(() => {
  for (const client of wss.clients) client.close(1001, 'server shutting down');
});

lameduck.handleSignals();
server.listen(settings.listen, () => {
  announce((server.address() as AddressInfo).port, 'node-http');
  void notifyReady(lameduck); // tells PM2 (wait_ready) or @lameduck/cluster's primary, when there is one
});
