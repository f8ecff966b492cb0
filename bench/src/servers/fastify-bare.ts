/** Fastify 5 with no shutdown handling: the throughput reference (SIGTERM kills it). */
import Fastify from 'fastify';
import { addFastifyRoutes } from './app-fastify.js';
import { announce, prepare } from './common.js';

const app = addFastifyRoutes(Fastify());
await app.listen({ port: 0, host: '127.0.0.1' });
prepare(app.server);
announce(app.server);
