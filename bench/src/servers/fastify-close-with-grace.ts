/** Fastify 5's own close() driven by close-with-grace, the recipe in close-with-grace's README (10 s delay). */
import closeWithGrace from 'close-with-grace';
import Fastify from 'fastify';
import { addFastifyRoutes } from './app-fastify.js';
import { announce, prepare } from './common.js';

const app = addFastifyRoutes(Fastify());
closeWithGrace({ delay: 10_000 }, async ({ err }) => {
  if (err !== undefined) console.error(err);
  await app.close();
});
await app.listen({ port: 0, host: '127.0.0.1' });
prepare(app.server);
announce(app.server);
