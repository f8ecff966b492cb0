/** The benchmark routes as one Koa 3 middleware (no router package: four paths). */
import type { Server } from 'node:http';
import type Koa from 'koa';
import { HELLO, memory, slow, work } from './common.js';

/** `GET /`, `/work`, `/slow?ms=&id=` and `/mem`; `server` is read when `/mem` is asked for. */
export function addKoaRoutes(app: Koa, server: () => Server): Koa {
  app.use(async function benchRoutes(ctx) {
    if (ctx.method !== 'GET') return;
    switch (ctx.path) {
      case '/':
        ctx.body = HELLO;
        return;
      case '/work':
        await work();
        ctx.body = 'work done';
        return;
      case '/slow':
        await slow(ctx.query.ms, ctx.query.id);
        ctx.body = 'slow done';
        return;
      case '/mem':
        ctx.body = await memory(server());
        return;
    }
  });
  return app;
}
