/** Express 5 with @lameduck/express and a fixed 5 s readiness delay (the default before "auto"), for a load balancer to act on. */
import type { Server } from 'node:http';
import { graceful } from '@lameduck/express';
import express from 'express';
import { addExpressRoutes } from './app-express.js';
import { announce, prepare } from './common.js';

const drain = graceful({ readinessDelay: 5_000 });
const app = express();
app.use(drain);
const server: Server = addExpressRoutes(app, () => server).listen(0, '127.0.0.1', () => announce(server));
drain.lameduck.attach(server);
prepare(server);
