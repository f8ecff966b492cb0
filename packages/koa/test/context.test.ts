/** Middleware after graceful() reaches the manager as `ctx.lameduck` (typed through Koa's context augmentation). */
import http from 'node:http';
import { expectTypeOf } from 'expect-type';
import Koa, { type Context } from 'koa';
import type { Lameduck } from '@lameduck/core';
import { graceful } from '@lameduck/koa';
import { closeServer, listen, request } from '@lameduck/test-utils';

/** A route module: it knows Koa's context, not the middleware instance. */
function reportRoute(ctx: Context): void {
  expectTypeOf(ctx.lameduck).toEqualTypeOf<Lameduck>();
  ctx.body = { state: ctx.lameduck.state, inflight: ctx.lameduck.stats().inflight };
}

test('ctx.lameduck is the middleware manager, on every context from the first request on', async () => {
  const drain = graceful({ handleSignals: false, silent: true, readinessDelay: 0 });
  const app = new Koa();
  app.use(drain);
  app.use(reportRoute);
  const server = http.createServer(app.callback());
  const port = await listen(server);
  try {
    for (let index = 0; index < 2; index++) {
      const reply = await request(port, { path: '/report' });
      expect(JSON.parse(reply.body)).toEqual({ state: 'serving', inflight: 1 });
    }
    expect(app.context.lameduck).toBe(drain.lameduck);
  } finally {
    await closeServer(server);
    await drain.lameduck.shutdown();
  }
});

test('one middleware in two apps: each app context gets the manager, whichever app serves first', async () => {
  const drain = graceful({ handleSignals: false, silent: true, readinessDelay: 0 });
  const apps = [new Koa(), new Koa()];
  const servers = apps.map((app) => {
    app.use(drain);
    app.use(reportRoute);
    return http.createServer(app.callback());
  });
  const ports = await Promise.all(servers.map((server) => listen(server)));
  try {
    for (const port of [ports[0]!, ports[1]!, ports[0]!]) {
      const reply = await request(port, { path: '/report' });
      expect(JSON.parse(reply.body)).toEqual({ state: 'serving', inflight: 1 });
    }
    expect(apps.map((app) => app.context.lameduck)).toEqual([drain.lameduck, drain.lameduck]);
  } finally {
    await Promise.all(servers.map((server) => closeServer(server)));
    await drain.lameduck.shutdown();
  }
});
