/** Example: the Hono app on Bun's own server (`Bun.serve`), following the examples' contract. */
import { announce, settings } from '@lameduck/example-contract';
import { upgradeWebSocket, websocket } from 'hono/bun';
import { createApp } from './app.js';

const { drain, app } = createApp(upgradeWebSocket);

const server = Bun.serve({ fetch: app.fetch, websocket, port: settings.port, hostname: settings.host });
// Attached at once: Bun.serve() listens as it returns.
drain.lameduck.attach(server);
announce(server.port ?? settings.port, 'hono');
