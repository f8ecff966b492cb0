/** The same server under lameduck: its middleware first, then the same routes and listen() as the textbook one. */
import { graceful } from '@lameduck/express';
import express from 'express';
import { addRoutes, announce } from './app.js';

const app = express();
const drain = graceful({ readinessDelay: 0, timeout: 10_000, silent: true });
app.use(drain);
addRoutes(app);
const server = app.listen(0, '127.0.0.1', (error) => announce(server, error));
// Attached at once, not with the first request: the demo sends SIGTERM only after load, but a real app may not.
drain.lameduck.attach(server);
