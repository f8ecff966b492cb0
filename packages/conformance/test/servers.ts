/** Every server kind the conformance suite runs against, each built the way its users would. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import fastifyWebsocket from '@fastify/websocket';
import { createLameduck, type Lameduck, type LameduckOptions } from '@lameduck/core';
import { graceful as expressGraceful } from '@lameduck/express';
import fastifyGraceful from '@lameduck/fastify';
import { graceful as honoGraceful } from '@lameduck/hono';
import { graceful as koaGraceful } from '@lameduck/koa';
import type * as NodeServer from '@hono/node-server';
import { createNodeWebSocket } from '@hono/node-ws';
import type Express from 'express';
import type { FastifyInstance } from 'fastify';
import { Hono } from 'hono';
import type Koa from 'koa';
import { WebSocketServer } from 'ws';
import { once } from '@lameduck/test-utils';
import { load } from './load.js';
import { isNestKind, NEST_KINDS, startNest } from './nest.js';

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
  'hono',
  'hono-node-server-1',
  ...NEST_KINDS,
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

const FIRST_EVENT = 'data: first\n\n';
const LAST_EVENT = 'event: bye\ndata: server shutting down\n\n';

/** Server-sent events: a first event now, a final one and the end when the drain starts. */
function eventStream(lameduck: Lameduck): PassThrough {
  const stream = new PassThrough();
  stream.write(FIRST_EVENT);
  lameduck.drainSignal.addEventListener('abort', () => stream.end(LAST_EVENT), { once: true });
  return stream;
}

/** The ws recipe for servers that hand out their http.Server: a closer says 1001 at drain start. */
function webSockets(server: http.Server, lameduck: Lameduck): WebSocketServer {
  const wss = new WebSocketServer({ server, path: '/ws' });
  wss.on('connection', (socket) => socket.send('hello'));
  lameduck.addCloser(() => {
    for (const client of wss.clients) client.close(1001, 'server shutting down');
  });
  return wss;
}

const EVENT_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-store' };

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function closeAll(server: http.Server, wss: WebSocketServer): Promise<void> {
  for (const client of wss.clients) client.terminate();
  wss.close();
  await stop(server);
}

async function stop(server: http.Server): Promise<void> {
  server.closeAllConnections();
  if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** `@hono/node-server` of a `hono…` kind: 2.x for `hono`, 1.x for `hono-node-server-1`. */
export function nodeServerOf(kind: Kind): typeof NodeServer {
  return load(kind === 'hono' ? '@hono/node-server' : '@hono/node-server-1') as typeof NodeServer;
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
      if (req.url === '/events') {
        res.writeHead(200, EVENT_HEADERS);
        return void eventStream(lameduck).pipe(res);
      }
      res.end('ok');
    });
    server.keepAliveTimeout = 120_000;
    lameduck.attach(server);
    const wss = webSockets(server, lameduck);
    return { port: await listen(server), lameduck, server, close: () => closeAll(server, wss) };
  }

  if (kind === 'express' || kind === 'express-4') {
    const express = load(kind === 'express' ? 'express' : 'express-4') as typeof Express;
    const app = express();
    const middleware = expressGraceful(settings);
    app.use(middleware);
    app.use((req, res, next) => (authorized(req.headers) ? next() : void res.status(401).send(AUTH)));
    app.get('/slow', (_req, res) => void routes.slow().then(() => res.send('slow done')));
    app.get('/events', (_req, res) => {
      res.writeHead(200, EVENT_HEADERS);
      eventStream(middleware.lameduck).pipe(res);
    });
    app.get('/', (_req, res) => void res.send('ok'));
    // What users write: app.listen(). The middleware finds the server with the first request.
    const server = await new Promise<http.Server>((resolve) => {
      const listening: http.Server = app.listen(0, '127.0.0.1', () => resolve(listening));
    });
    server.keepAliveTimeout = 120_000;
    const wss = webSockets(server, middleware.lameduck);
    const port = (server.address() as AddressInfo).port;
    return { port, lameduck: middleware.lameduck, server, close: () => closeAll(server, wss) };
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
      } else if (ctx.path === '/events') {
        ctx.set(EVENT_HEADERS);
        ctx.body = eventStream(middleware.lameduck);
      } else {
        ctx.body = 'ok';
      }
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    server.keepAliveTimeout = 120_000;
    const wss = webSockets(server, middleware.lameduck);
    const port = (server.address() as AddressInfo).port;
    return { port, lameduck: middleware.lameduck, server, close: () => closeAll(server, wss) };
  }

  if (kind === 'hono' || kind === 'hono-node-server-1') {
    const nodeServer = nodeServerOf(kind);
    const app = new Hono();
    const middleware = honoGraceful(settings);
    app.use(middleware);
    // WebSockets as each major's users write them: @hono/node-ws on 1.x, node-server's own on 2.x.
    const nodeWs = kind === 'hono' ? undefined : createNodeWebSocket({ app });
    const upgradeWebSocket = nodeWs?.upgradeWebSocket ?? nodeServer.upgradeWebSocket;
    const wss = nodeWs?.wss ?? new WebSocketServer({ noServer: true });
    middleware.lameduck.addCloser(() => {
      for (const client of wss.clients) client.close(1001, 'server shutting down');
    });
    app.use(async (c, next) => (authorized(c.req.header()) ? next() : c.text(AUTH, 401)));
    app.get(
      '/ws',
      upgradeWebSocket(() => ({ onOpen: (_event, socket) => socket.send('hello') })),
    );
    app.get('/slow', async (c) => {
      await routes.slow();
      return c.text('slow done');
    });
    app.get('/events', (c) =>
      c.body(Readable.toWeb(eventStream(middleware.lameduck)) as ReadableStream, 200, EVENT_HEADERS),
    );
    app.get('/', (c) => c.text('ok'));
    const websocket = kind === 'hono' ? { websocket: { server: wss } } : {};
    // What users write: the server serve() returns, attached before it accepts a connection.
    const server = nodeServer.serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1', ...websocket }) as http.Server;
    middleware.lameduck.attach(server);
    nodeWs?.injectWebSocket(server);
    await once(server, 'listening');
    server.keepAliveTimeout = 120_000;
    const port = (server.address() as AddressInfo).port;
    return { port, lameduck: middleware.lameduck, server, close: () => closeAll(server, wss) };
  }
  if (isNestKind(kind)) {
    const nest = await startNest(kind, settings, { slow: routes.slow, events: eventStream });
    // The platform's own WebSocket: ws on Nest's http.Server, on either platform.
    const wss = webSockets(nest.server, nest.lameduck);
    return {
      port: nest.port,
      lameduck: nest.lameduck,
      server: nest.server,
      close: async () => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        await stop(nest.server);
        await nest.app.close();
      },
    };
  }

  // Fastify: its default keep-alive timeout is 72 s; keep it far beyond the test's time too.
  const app = fastifyFactory(kind)({ logger: false, keepAliveTimeout: 120_000 });
  await app.register(fastifyGraceful, settings);
  // The @fastify/websocket recipe: a closer says 1001 to its clients at drain start.
  await app.register(fastifyWebsocket);
  app.lameduck.addCloser(() => {
    for (const client of app.websocketServer.clients) client.close(1001, 'server shutting down');
  });
  app.get('/ws', { websocket: true }, (socket) => socket.send('hello'));
  app.get('/events', (_request, reply) => reply.headers(EVENT_HEADERS).send(eventStream(app.lameduck)));
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
