/** Express 5 with http-graceful-shutdown as its README shows: gracefulShutdown(server, options), 10 s timeout. */
import type { Server } from 'node:http';
import express from 'express';
import gracefulShutdown from 'http-graceful-shutdown';
import { addExpressRoutes } from './app-express.js';
import { announce, prepare } from './common.js';

const server: Server = addExpressRoutes(express(), () => server).listen(0, '127.0.0.1', () => announce(server));
gracefulShutdown(server, { signals: 'SIGINT SIGTERM', timeout: 10_000, forceExit: true });
prepare(server);
