/** Express 5 with @godaddy/terminus as its README shows: createTerminus on the http.Server, a health check. */
import http from 'node:http';
import { createTerminus } from '@godaddy/terminus';
import express from 'express';
import { addExpressRoutes } from './app-express.js';
import { announce, prepare } from './common.js';

const server: http.Server = http.createServer(addExpressRoutes(express(), () => server));
createTerminus(server, {
  signals: ['SIGTERM', 'SIGINT'],
  timeout: 10_000,
  healthChecks: { '/healthcheck': async () => {} },
  onSignal: async () => {},
});
prepare(server);
server.listen(0, '127.0.0.1', () => announce(server));
