/** The benchmark routes on a Fastify 5 instance (after whatever the server file registered first). */
import type { FastifyInstance } from 'fastify';
import { HELLO, memory, slow, work } from './common.js';

interface SlowQuery {
  ms?: string;
  id?: string;
}

/** `GET /`, `/work`, `/slow?ms=&id=` and `/mem`. */
export function addFastifyRoutes(app: FastifyInstance): FastifyInstance {
  app.get('/', async () => HELLO);
  app.get('/work', async () => {
    await work();
    return 'work done';
  });
  app.get<{ Querystring: SlowQuery }>('/slow', async (request) => {
    await slow(request.query.ms, request.query.id);
    return 'slow done';
  });
  app.get('/mem', async () => memory(app.server));
  return app;
}
