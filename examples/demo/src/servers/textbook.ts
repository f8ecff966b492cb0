/** The textbook graceful shutdown: on SIGTERM, server.close() and exit once it has closed. */
import express from 'express';
import { addRoutes, announce } from './app.js';

const app = addRoutes(express());
const server = app.listen(0, '127.0.0.1', (error) => announce(server, error));

process.on('SIGTERM', () => server.close(() => process.exit(0)));
