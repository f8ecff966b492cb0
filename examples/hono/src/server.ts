/** Example: the Hono app on Node.js (`@hono/node-server`), following the examples' contract. */
import type { AddressInfo } from 'node:net';
import { createAdaptorServer, upgradeWebSocket } from '@hono/node-server';
import { notifyReady } from '@lameduck/core';
import { announce, settings } from '@lameduck/example-contract';
import { WebSocketServer } from 'ws';
import { createApp } from './app.js';

const { drain, app } = createApp(upgradeWebSocket);

// createAdaptorServer() rather than serve(): it listens where the contract says (a systemd socket, say).
// `hostname` is also the host of requests that name none: without it node-server answers them 400 before
// Hono runs, and HAProxy's default health check (`option httpchk`, HTTP/1.0 without Host) never passes.
const wss = new WebSocketServer({ noServer: true });
const server = createAdaptorServer({ fetch: app.fetch, hostname: settings.host, websocket: { server: wss } });
// Attached before it listens: a SIGTERM before any request, or a WebSocket, must be seen too.
drain.lameduck.attach(server);
server.listen(settings.listen, () => {
  announce((server.address() as AddressInfo).port, 'hono');
  void notifyReady(drain.lameduck); // tells PM2 (wait_ready) or @lameduck/cluster's primary, when there is one
});
