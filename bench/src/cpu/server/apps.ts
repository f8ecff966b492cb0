/**
 * Each framework's variants of the hello world, built on their own (never listening) http.Server, which
 * the process's one listening server hands each request to; lameduck is attached to the listening one.
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
import type { CpuVariant } from '../protocol.js';
import { applyPeer, isPeer } from './peers.js';

/** Builds `variant`; `listening` is the server that accepts the connections, for lameduck to attach. */
export type Builder = (variant: CpuVariant, listening: Server) => Promise<Server>;

function nodeHello(_req: IncomingMessage, res: ServerResponse): void {
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.end(HELLO);
}

async function buildNode(variant: CpuVariant, listening: Server): Promise<Server> {
  if (variant !== 'lameduck') {
    const server = http.createServer(nodeHello);
    if (isPeer(variant)) applyPeer(variant, server, async () => server.close());
    return server;
  }
  const lameduck = createLameduck({ readinessDelay: 0 });
  lameduck.attach(listening);
  lameduck.handleSignals();
  return http.createServer(function lameduckHello(req, res) {
    if (lameduck.handle(req, res)) return;
    nodeHello(req, res);
  });
}

async function buildExpress(variant: CpuVariant, listening: Server): Promise<Server> {
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
  const server = http.createServer(app);
  if (isPeer(variant)) applyPeer(variant, server, async () => server.close());
  return server;
}

async function buildKoa(variant: CpuVariant, listening: Server): Promise<Server> {
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
  const server = http.createServer(app.callback());
  if (isPeer(variant)) applyPeer(variant, server, async () => server.close());
  return server;
}

async function buildFastify(variant: CpuVariant, listening: Server): Promise<Server> {
  // serverFactory: Fastify's handler on a server of our own, which the listening server hands requests to.
  const app = Fastify({ serverFactory: (handler) => http.createServer(handler) });
  if (variant === 'noop') app.addHook('onRequest', (_request, _reply, done) => done());
  if (variant === 'lameduck') {
    await app.register(fastifyGraceful, { readinessDelay: 0 });
    app.lameduck.attach(listening);
  }
  app.get('/', async () => HELLO);
  if (isPeer(variant)) applyPeer(variant, app.server, () => app.close());
  await app.ready();
  return app.server;
}

export const BUILDERS: Record<Framework, Builder> = {
  'node:http': buildNode,
  express: buildExpress,
  koa: buildKoa,
  fastify: buildFastify,
};
