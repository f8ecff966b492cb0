/** Express 5, the textbook shutdown: on SIGTERM, close WebSockets (1001) if any, server.close(), exit 0. */
import type { Server } from 'node:http';
import express from 'express';
import { addExpressRoutes } from './app-express.js';
import { announce, prepare } from './common.js';

const server: Server = addExpressRoutes(express(), () => server).listen(0, '127.0.0.1', () => announce(server));
const wss = prepare(server);
process.on('SIGTERM', () => {
  // Upgraded sockets hold server.close() open until they close: the hand-written closer.
  for (const client of wss?.clients ?? []) client.close(1001, 'server shutting down');
  server.close(() => process.exit(0));
});
