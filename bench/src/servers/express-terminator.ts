/** Express 5 with http-terminator: terminate() on SIGTERM, then exit 0; 10 s graceful termination timeout. */
import type { Server } from 'node:http';
import express from 'express';
import { createHttpTerminator } from 'http-terminator';
import { addExpressRoutes } from './app-express.js';
import { announce, prepare } from './common.js';

const server: Server = addExpressRoutes(express(), () => server).listen(0, '127.0.0.1', () => announce(server));
const terminator = createHttpTerminator({ server, gracefulTerminationTimeout: 10_000 });
prepare(server);
process.on('SIGTERM', async () => {
  await terminator.terminate();
  process.exit(0);
});
