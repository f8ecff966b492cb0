/** The Express 5 hello world both demo servers run, and the line that tells the driver a server is ready. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Express } from 'express';

/** `GET /` answers at once; `GET /work` does 20–50 ms of async work first, so requests are in flight. */
export function addRoutes(app: Express): Express {
  app.get('/', (_req, res) => {
    res.send('hello world');
  });
  app.get('/work', async (_req, res) => {
    await sleep(20 + Math.random() * 30);
    res.send('work done');
  });
  return app;
}

/** Prints `{"event":"listening","port":N}` on stdout, or fails the process if listening failed. */
export function announce(server: Server, error?: Error): void {
  if (error !== undefined) throw error;
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ event: 'listening', port })}\n`);
}
