/** Fastify 5 with http-terminator on app.server, as its README's Fastify recipe: terminate() on SIGTERM, exit 0. */
import Fastify from 'fastify';
import { createHttpTerminator } from 'http-terminator';
import { addFastifyRoutes } from './app-fastify.js';
import { announce, prepare } from './common.js';

const app = addFastifyRoutes(Fastify());
await app.listen({ port: 0, host: '127.0.0.1' });
const terminator = createHttpTerminator({ server: app.server, gracefulTerminationTimeout: 10_000 });
process.on('SIGTERM', async () => {
  await terminator.terminate();
  process.exit(0);
});
prepare(app.server);
announce(app.server);
