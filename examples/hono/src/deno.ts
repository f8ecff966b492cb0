/** Example: the Hono app on Deno's own server (`Deno.serve`), following the examples' contract. */
import { announce, settings } from '@lameduck/example-contract';
import { upgradeWebSocket } from 'hono/deno';
import { createApp } from './app.js';

const { drain, app } = createApp(upgradeWebSocket);

const server = Deno.serve({ port: settings.port, hostname: settings.host, onListen: () => {} }, app.fetch);
// Attached at once: Deno.serve() listens as it returns.
drain.lameduck.attach(server);
announce(server.addr.port, 'hono');
