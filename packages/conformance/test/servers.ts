/** Every server kind the conformance suite runs against, each built the way its users would. */
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { createLameduck, type Lameduck, type LameduckOptions } from '@lameduck/core';
import { graceful as expressGraceful } from '@lameduck/express';
import fastifyGraceful from '@lameduck/fastify';
import { graceful as koaGraceful } from '@lameduck/koa';
import type Express from 'express';
import type { FastifyInstance } from 'fastify';
import type Koa from 'koa';

const load = createRequire(__filename);

export const KINDS = [
  'node-http',
  'express',
  'express-4',
  'koa',
  'koa-2',
  'fastify',
  'fastify-5.11',
  'fastify-5.10',
  'fastify-5.8',
] as const;
export type Kind = (typeof KINDS)[number];

/** What each route does: the suite controls when `/slow` answers. */
export interface Routes {
  /** `/slow` calls this and answers `slow done` when the promise settles. */
  slow(): Promise<void>;
}

export interface Running {
  port: number;
  lameduck: Lameduck;
  server: http.Server;
  /** Closes whatever a scenario left open. */
  close(): Promise<void>;
}

/** Answers 401 to everything: a stand-in for auth middleware that the probes must get past. */
const AUTH = 'authorization required';

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function stop(server: http.Server): Promise<void> {
  server.closeAllConnections();
  if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
}

function fastifyFactory(kind: Kind): (options: { logger: false; keepAliveTimeout: number }) => FastifyInstance {
  const name = kind === 'fastify' ? 'fastify' : kind;
  return load(name) as (options: { logger: false; keepAliveTimeout: number }) => FastifyInstance;
}

/**
 * Starts a server of `kind` with lameduck through its adapter (signals left to the test), a
 * `/slow` route, a `/` route, and an auth layer after lameduck that refuses everything else
 * with 401 unless `authorization: yes` is sent.
 */
export async function start(kind: Kind, options: LameduckOptions, routes: Routes): Promise<Running> {
  const settings = { ...options, handleSignals: false } as const;
  const authorized = (headers: http.IncomingHttpHeaders) => headers.authorization === 'yes';

  if (kind === 'node-http') {
    const lameduck = createLameduck(options);
    const server = http.createServer((req, res) => {
      if (lameduck.handle(req, res)) return;
      if (!authorized(req.headers)) {
        res.statusCode = 401;
        return void res.end(AUTH);
      }
      if (req.url?.startsWith('/slow')) return void routes.slow().then(() => res.end('slow done'));
      res.end('ok');
    });
    server.keepAliveTimeout = 120_000;
    lameduck.attach(server);
    return { port: await listen(server), lameduck, server, close: () => stop(server) };
  }

  if (kind === 'express' || kind === 'express-4') {
    const express = load(kind === 'express' ? 'express' : 'express-4') as typeof Express;
    const app = express();
    const middleware = expressGraceful(settings);
    app.use(middleware);
    app.use((req, res, next) => (authorized(req.headers) ? next() : void res.status(401).send(AUTH)));
    app.get('/slow', (_req, res) => void routes.slow().then(() => res.send('slow done')));
    app.get('/', (_req, res) => void res.send('ok'));
    // What users write: app.listen(). The middleware finds the server with the first request.
    const server = await new Promise<http.Server>((resolve) => {
      const listening: http.Server = app.listen(0, '127.0.0.1', () => resolve(listening));
    });
    server.keepAliveTimeout = 120_000;
    const port = (server.address() as AddressInfo).port;
    return { port, lameduck: middleware.lameduck, server, close: () => stop(server) };
  }

  if (kind === 'koa' || kind === 'koa-2') {
    const KoaApp = load(kind === 'koa' ? 'koa' : 'koa-2') as typeof Koa;
    const app = new KoaApp();
    const middleware = koaGraceful(settings);
    app.use(middleware);
    app.use(async (ctx, next) => {
      if (!authorized(ctx.headers)) {
        ctx.status = 401;
        ctx.body = AUTH;
        return;
      }
      await next();
    });
    app.use(async (ctx) => {
      if (ctx.path === '/slow') {
        await routes.slow();
        ctx.body = 'slow done';
      } else {
        ctx.body = 'ok';
      }
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    server.keepAliveTimeout = 120_000;
    const port = (server.address() as AddressInfo).port;
    return { port, lameduck: middleware.lameduck, server, close: () => stop(server) };
  }

  // Fastify: its default keep-alive timeout is 72 s; keep it far beyond the test's time too.
  const app = fastifyFactory(kind)({ logger: false, keepAliveTimeout: 120_000 });
  await app.register(fastifyGraceful, settings);
  app.addHook('onRequest', async (request, reply) => {
    if (!authorized(request.headers)) return reply.code(401).send(AUTH);
  });
  app.get('/slow', async () => {
    await routes.slow();
    return 'slow done';
  });
  app.get('/', async () => 'ok');
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  return {
    port,
    lameduck: app.lameduck,
    server: app.server,
    close: async () => {
      await stop(app.server);
      await app.close();
    },
  };
}
