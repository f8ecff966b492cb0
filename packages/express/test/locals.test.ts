/** Route modules reach the manager through `req.app.locals.lameduck` (typed), without importing the middleware. */
import http from 'node:http';
import { expectTypeOf } from 'expect-type';
import express, { Router, type Request, type Response } from 'express';
import type { Lameduck } from '@lameduck/core';
import { graceful } from '@lameduck/express';
import { closeServer, listen, request } from '@lameduck/test-utils';

/** A route module: it knows Express, not the middleware instance. */
function reportRoute(req: Request, res: Response): void {
  expectTypeOf(req.app.locals.lameduck).toEqualTypeOf<Lameduck>();
  expectTypeOf(res.locals.lameduck).toEqualTypeOf<Lameduck>();
  res.json({ state: req.app.locals.lameduck.state, same: req.app.locals.lameduck === res.locals.lameduck });
}

test('req.app.locals.lameduck and res.locals.lameduck are the middleware manager, from the first request on', async () => {
  const drain = graceful({ handleSignals: false, silent: true, readinessDelay: 0 });
  const app = express();
  app.use(drain);
  const router = Router();
  router.get('/report', reportRoute);
  app.use(router);
  const server = http.createServer(app);
  const port = await listen(server);
  try {
    expect(app.locals.lameduck).toBeUndefined();
    const reply = await request(port, { path: '/report' });
    expect(JSON.parse(reply.body)).toEqual({ state: 'serving', same: true });
    expect(app.locals.lameduck).toBe(drain.lameduck);
  } finally {
    await closeServer(server);
    await drain.lameduck.shutdown();
  }
});

test('one middleware in two apps: each app gets the manager on its locals, whichever app serves first', async () => {
  const drain = graceful({ handleSignals: false, silent: true, readinessDelay: 0 });
  const apps = [express(), express()];
  const servers = apps.map((app) => {
    app.use(drain);
    app.get('/report', reportRoute);
    return http.createServer(app);
  });
  const ports = await Promise.all(servers.map((server) => listen(server)));
  try {
    for (const port of [ports[0]!, ports[1]!, ports[0]!]) {
      const reply = await request(port, { path: '/report' });
      expect(JSON.parse(reply.body)).toEqual({ state: 'serving', same: true });
    }
    expect(apps.map((app) => app.locals.lameduck)).toEqual([drain.lameduck, drain.lameduck]);
  } finally {
    await Promise.all(servers.map((server) => closeServer(server)));
    await drain.lameduck.shutdown();
  }
});
