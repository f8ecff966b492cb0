/** Koa 3 with no shutdown handling: the throughput reference (SIGTERM kills it). */
import type { Server } from 'node:http';
import Koa from 'koa';
import { addKoaRoutes } from './app-koa.js';
import { announce, prepare } from './common.js';

const server: Server = addKoaRoutes(new Koa(), () => server).listen(0, '127.0.0.1', () => announce(server));
prepare(server);
