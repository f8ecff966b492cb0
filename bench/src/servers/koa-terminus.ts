/** Koa 3 with @godaddy/terminus as its README's Koa recipe: createTerminus on http.createServer(app.callback()). */
import http from 'node:http';
import { createTerminus } from '@godaddy/terminus';
import Koa from 'koa';
import { addKoaRoutes } from './app-koa.js';
import { announce, prepare } from './common.js';

const server: http.Server = http.createServer(addKoaRoutes(new Koa(), () => server).callback());
createTerminus(server, {
  signals: ['SIGTERM', 'SIGINT'],
  timeout: 10_000,
  healthChecks: { '/healthcheck': async () => {} },
  onSignal: async () => {},
});
prepare(server);
server.listen(0, '127.0.0.1', () => announce(server));
