/** Fastify 5 with @godaddy/terminus on its http.Server (signals, a health check, 10 s timeout). */
import { createTerminus } from '@godaddy/terminus';
import Fastify from 'fastify';
import { addFastifyRoutes } from './app-fastify.js';
import { announce, prepare } from './common.js';

const app = addFastifyRoutes(Fastify());
createTerminus(app.server, {
  signals: ['SIGTERM', 'SIGINT'],
  timeout: 10_000,
  healthChecks: { '/healthcheck': async () => {} },
  onSignal: async () => {},
});
await app.listen({ port: 0, host: '127.0.0.1' });
prepare(app.server);
announce(app.server);
