/** The benchmark routes on an Express 5 app (after whatever the server file mounted first). */
import type { Server } from 'node:http';
import type { Express } from 'express';
import { HELLO, memory, slow, work } from './common.js';

/** `GET /`, `/work`, `/slow?ms=&id=` and `/mem`; `server` is read when `/mem` is asked for. */
export function addExpressRoutes(app: Express, server: () => Server): Express {
  app.get('/', (_req, res) => {
    res.send(HELLO);
  });
  app.get('/work', async (_req, res) => {
    await work();
    res.send('work done');
  });
  app.get('/slow', async (req, res) => {
    await slow(req.query.ms, req.query.id);
    res.send('slow done');
  });
  app.get('/mem', async (_req, res) => {
    res.json(await memory(server()));
  });
  return app;
}
