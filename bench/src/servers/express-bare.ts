/** Express 5 with no shutdown handling: the throughput reference (SIGTERM kills it). */
import type { Server } from 'node:http';
import express from 'express';
import { addExpressRoutes } from './app-express.js';
import { announce, prepare } from './common.js';

const server: Server = addExpressRoutes(express(), () => server).listen(0, '127.0.0.1', () => announce(server));
prepare(server);
