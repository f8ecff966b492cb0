/** Koa 3 with http-terminator: terminate() on SIGTERM, then exit 0; 10 s graceful termination timeout. */
import type { Server } from 'node:http';
import { createHttpTerminator } from 'http-terminator';
import Koa from 'koa';
import { addKoaRoutes } from './app-koa.js';
import { announce, prepare } from './common.js';

const server: Server = addKoaRoutes(new Koa(), () => server).listen(0, '127.0.0.1', () => announce(server));
const terminator = createHttpTerminator({ server, gracefulTerminationTimeout: 10_000 });
prepare(server);
process.on('SIGTERM', async () => {
  await terminator.terminate();
  process.exit(0);
});
