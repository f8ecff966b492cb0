/** The app every adapter matrix test runs against: one per framework and version, built as its users would. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AdapterOptions, Lameduck } from '@lameduck/core';
import { graceful as expressGraceful } from '@lameduck/express';
import fastifyGraceful from '@lameduck/fastify';
import { graceful as honoGraceful } from '@lameduck/hono';
import { graceful as koaGraceful } from '@lameduck/koa';
import type Express from 'express';
import type { FastifyInstance } from 'fastify';
import { Hono } from 'hono';
import type Koa from 'koa';
import { load } from './load.js';
import { isNestKind, startNest } from './nest.js';
import { KINDS, nodeServerOf, type Kind } from './servers.js';

/** Every kind that goes through an adapter (`graceful()`), every supported version of each framework. */
export const ADAPTER_KINDS = KINDS.filter((kind) => kind !== 'node-http');
export type AdapterKind = Exclude<Kind, 'node-http'>;

const AUTH_REQUIRED = 'authorization required';
/** What the app's own `GET /readyz` answers, reachable only when lameduck's probe is off. */
export const APP_READINESS = 'the app’s readiness';

export interface App {
  port: number;
  lameduck: Lameduck;
  /** Paths that reached the app's `GET /`. */
  hits: string[];
  close(): Promise<void>;
}

export interface AppShape {
  /**
   * An auth layer right after lameduck that answers 401 unless `authorization: yes` is sent: the
   * probes and the 503 must get past it. @default true
   */
  auth?: boolean;
}

const authorized = (headers: http.IncomingHttpHeaders) => headers.authorization === 'yes';

async function stop(server: http.Server): Promise<void> {
  server.closeAllConnections();
  if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
}

async function listening(server: http.Server): Promise<number> {
  if (!server.listening) await new Promise((resolve) => server.once('listening', resolve));
  // Beyond the test's time: a socket closes because lameduck closed it, never by the timeout.
  server.keepAliveTimeout = 120_000;
  return (server.address() as AddressInfo).port;
}

/**
 * Starts an app of `kind` on port 0: lameduck's adapter first, with `options` as given; then the auth
 * layer; then `GET /` (`ok`), `GET /readyz` and `POST /readyz` (the app's own). Anything else is the
 * framework's 404.
 */
export async function startApp(kind: AdapterKind, options: AdapterOptions, shape: AppShape = {}): Promise<App> {
  const auth = shape.auth ?? true;
  const hits: string[] = [];
  if (kind === 'express' || kind === 'express-4') {
    const express = load(kind) as typeof Express;
    const app = express();
    const middleware = expressGraceful(options);
    app.use(middleware);
    if (auth)
      app.use((req, res, next) => (authorized(req.headers) ? next() : void res.status(401).send(AUTH_REQUIRED)));
    app.get('/', (req, res) => {
      hits.push(req.url);
      res.send('ok');
    });
    app.get('/readyz', (_req, res) => void res.send(APP_READINESS));
    app.post('/readyz', (_req, res) => void res.send('posted'));
    const server = app.listen(0, '127.0.0.1');
    const port = await listening(server);
    return { port, lameduck: middleware.lameduck, hits, close: () => stop(server) };
  }
  if (kind === 'koa' || kind === 'koa-2') {
    const KoaApp = load(kind) as typeof Koa;
    const app = new KoaApp();
    app.silent = true;
    const middleware = koaGraceful(options);
    app.use(middleware);
    if (auth) {
      app.use(async (ctx, next) => {
        if (!authorized(ctx.headers)) {
          ctx.status = 401;
          ctx.body = AUTH_REQUIRED;
          return;
        }
        await next();
      });
    }
    app.use(async (ctx) => {
      if (ctx.path === '/' && ctx.method === 'GET') {
        hits.push(ctx.url);
        ctx.body = 'ok';
      } else if (ctx.path === '/readyz') {
        ctx.body = ctx.method === 'POST' ? 'posted' : APP_READINESS;
      }
    });
    const server = app.listen(0, '127.0.0.1');
    const port = await listening(server);
    return { port, lameduck: middleware.lameduck, hits, close: () => stop(server) };
  }
  if (kind === 'hono' || kind === 'hono-node-server-1') {
    const app = new Hono();
    const middleware = honoGraceful(options);
    app.use(middleware);
    if (auth) app.use(async (c, next) => (authorized(c.req.header()) ? next() : c.text(AUTH_REQUIRED, 401)));
    app.get('/', (c) => {
      hits.push(new URL(c.req.url).pathname);
      return c.text('ok');
    });
    app.get('/readyz', (c) => c.text(APP_READINESS));
    app.post('/readyz', (c) => c.text('posted'));
    const server = nodeServerOf(kind).serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as http.Server;
    middleware.lameduck.attach(server);
    const port = await listening(server);
    return { port, lameduck: middleware.lameduck, hits, close: () => stop(server) };
  }
  if (isNestKind(kind)) {
    const readiness = { get: APP_READINESS, post: 'posted' };
    const nest = await startNest(kind, options, { root: (url) => hits.push(url), readiness }, auth);
    return {
      port: nest.port,
      lameduck: nest.lameduck,
      hits,
      close: async () => {
        await stop(nest.server);
        await nest.app.close();
      },
    };
  }
  const fastify = load(kind) as (options: { logger: false }) => FastifyInstance;
  const app = fastify({ logger: false });
  try {
    await app.register(fastifyGraceful, options);
  } catch (error) {
    await app.close();
    throw error;
  }
  if (auth) {
    app.addHook('onRequest', async (request, reply) => {
      if (!authorized(request.headers)) return reply.code(401).send(AUTH_REQUIRED);
    });
  }
  app.get('/', async (request) => {
    hits.push(request.url);
    return 'ok';
  });
  // The plugin's probes are routes: GET /readyz is the app's only once the probe has moved.
  if (!app.hasRoute({ method: 'GET', url: '/readyz' })) app.get('/readyz', async () => APP_READINESS);
  app.post('/readyz', async () => 'posted');
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = await listening(app.server);
  return {
    port,
    lameduck: app.lameduck,
    hits,
    close: async () => {
      await stop(app.server);
      await app.close();
    },
  };
}
