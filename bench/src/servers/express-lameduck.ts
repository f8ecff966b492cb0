/** Express 5 with @lameduck/express: the middleware first, readinessDelay 0 (no load balancer here). */
import type { Server } from 'node:http';
import { graceful } from '@lameduck/express';
import express from 'express';
import { addExpressRoutes } from './app-express.js';
import { announce, prepare } from './common.js';

const drain = graceful({ readinessDelay: 0 });
const app = express();
app.use(drain);
const server: Server = addExpressRoutes(app, () => server).listen(0, '127.0.0.1', () => announce(server));
drain.lameduck.attach(server);
const wss = prepare(server);
if (wss !== undefined) {
  drain.lameduck.addCloser(() => {
    for (const client of wss.clients) client.close(1001, 'server shutting down');
  });
}
