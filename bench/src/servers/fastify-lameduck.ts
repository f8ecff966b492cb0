/** Fastify 5 with @lameduck/fastify: the plugin registered first, readinessDelay 0 (no load balancer here). */
import graceful from '@lameduck/fastify';
import Fastify from 'fastify';
import { addFastifyRoutes } from './app-fastify.js';
import { announce, prepare } from './common.js';

const app = Fastify();
await app.register(graceful, { readinessDelay: 0 });
addFastifyRoutes(app);
await app.listen({ port: 0, host: '127.0.0.1' });
const wss = prepare(app.server);
if (wss !== undefined) {
  app.lameduck.addCloser(() => {
    for (const client of wss.clients) client.close(1001, 'server shutting down');
  });
}
announce(app.server);
