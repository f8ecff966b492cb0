/** Fastify 5 with http-graceful-shutdown on its http.Server (10 s timeout). */
import Fastify from 'fastify';
import gracefulShutdown from 'http-graceful-shutdown';
import { addFastifyRoutes } from './app-fastify.js';
import { announce, prepare } from './common.js';

const app = addFastifyRoutes(Fastify());
await app.listen({ port: 0, host: '127.0.0.1' });
gracefulShutdown(app.server, { signals: 'SIGINT SIGTERM', timeout: 10_000, forceExit: true });
prepare(app.server);
announce(app.server);
