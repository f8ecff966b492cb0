/**
 * Each framework's own apps of the hello world (bare, its A/A twin, a no-op middleware, lameduck), each on its
 * own never-listening http.Server that the process's listening server hands requests to; lameduck is
 * attached to the listening one.
 */
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createLameduck } from '@lameduck/core';
import { graceful as expressGraceful } from '@lameduck/express';
import fastifyGraceful from '@lameduck/fastify';
import { graceful as koaGraceful } from '@lameduck/koa';
import express, { type NextFunction, type Request, type Response } from 'express';
import Fastify from 'fastify';
import Koa, { type Context, type Next } from 'koa';
import { HELLO } from '../../servers/common.js';
import type { Framework } from '../../variants.js';
import type { AppVariant } from '../protocol.js';

/** Builds `variant`; `listening` is the server that accepts the connections, for lameduck to attach. */
export type Builder = (variant: AppVariant, listening: Server) => Promise<Server>;

function nodeHello(_req: IncomingMessage, res: ServerResponse): void {
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.end(HELLO);
}

async function buildNode(variant: AppVariant, listening: Server): Promise<Server> {
  if (variant !== 'lameduck') return http.createServer(nodeHello);
  const lameduck = createLameduck({ readinessDelay: 0 });
  lameduck.attach(listening);
  lameduck.handleSignals();
  return http.createServer(function lameduckHello(req, res) {
    if (lameduck.handle(req, res)) return;
    nodeHello(req, res);
  });
}

async function buildExpress(variant: AppVariant, listening: Server): Promise<Server> {
  const app = express();
  if (variant === 'noop') app.use((_req: Request, _res: Response, next: NextFunction) => next());
  if (variant === 'lameduck') {
    const drain = expressGraceful({ readinessDelay: 0 });
    app.use(drain);
    drain.lameduck.attach(listening);
  }
  app.get('/', (_req, res) => {
    res.send(HELLO);
  });
  return http.createServer(app);
}

async function buildKoa(variant: AppVariant, listening: Server): Promise<Server> {
  const app = new Koa();
  if (variant === 'noop') app.use((_ctx: Context, next: Next) => next());
  if (variant === 'lameduck') {
    const drain = koaGraceful({ readinessDelay: 0 });
    app.use(drain);
    drain.lameduck.attach(listening);
  }
  app.use((ctx) => {
    ctx.body = HELLO;
  });
  return http.createServer(app.callback());
}

async function buildFastify(variant: AppVariant, listening: Server): Promise<Server> {
  // serverFactory: Fastify's handler on a server of our own, which the listening server hands requests to.
  const app = Fastify({ serverFactory: (handler) => http.createServer(handler) });
  if (variant === 'noop') app.addHook('onRequest', (_request, _reply, done) => done());
  if (variant === 'lameduck') {
    await app.register(fastifyGraceful, { readinessDelay: 0 });
    app.lameduck.attach(listening);
  }
  app.get('/', async () => HELLO);
  await app.ready();
  return app.server;
}

export const BUILDERS: Record<Framework, Builder> = {
  'node:http': buildNode,
  express: buildExpress,
  koa: buildKoa,
  fastify: buildFastify,
};
