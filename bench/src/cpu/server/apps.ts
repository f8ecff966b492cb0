/**
 * Each framework's apps of the hello world (bare, its A/A twin, a no-op middleware, lameduck), each variant on
 * its own never-listening http.Server that the process's listening server hands requests to; lameduck is
 * attached to the listening one. Express, Koa, Hono and Nest variants share one app per process (see
 * `selectVariant`); Fastify and node:http variants are an app each.
 */
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { createLameduck } from '@lameduck/core';
import { graceful as expressGraceful } from '@lameduck/express';
import fastifyGraceful from '@lameduck/fastify';
import { graceful as honoGraceful } from '@lameduck/hono';
import { graceful as koaGraceful } from '@lameduck/koa';
import { LameduckModule, setupLameduck, type Lameduck } from '@lameduck/nestjs';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import express, { type Express, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import Fastify from 'fastify';
import { Hono, type MiddlewareHandler } from 'hono';
import Koa, { type Context, type Middleware, type Next } from 'koa';
import { HELLO } from '../../servers/common.js';
import type { Framework } from '../../variants.js';
import { isNoop, type AppVariant, type CpuVariant } from '../protocol.js';
import { enter, IN_PATH, leave, timedExpress, timedHono, timedKoa } from './in-path.js';

/** Builds `variant`; `listening` is the server that accepts the connections, for lameduck to attach. */
export type Builder = (variant: AppVariant, listening: Server) => Promise<Server>;

function nodeHello(_req: IncomingMessage, res: ServerResponse): void {
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.end(HELLO);
}

/** bare's request listener with in-path timing: nothing between entering and handing on. */
function timedNodeHello(req: IncomingMessage, res: ServerResponse): void {
  enter();
  leave();
  nodeHello(req, res);
}

async function buildNode(variant: AppVariant, listening: Server): Promise<Server> {
  if (variant !== 'lameduck') return http.createServer(IN_PATH ? timedNodeHello : nodeHello);
  const lameduck = createLameduck({ readinessDelay: 0 });
  lameduck.attach(listening);
  lameduck.handleSignals();
  if (IN_PATH) {
    return http.createServer(function lameduckHello(req, res) {
      enter();
      if (lameduck.handle(req, res)) return;
      leave();
      nodeHello(req, res);
    });
  }
  return http.createServer(function lameduckHello(req, res) {
    if (lameduck.handle(req, res)) return;
    nodeHello(req, res);
  });
}

/** The middleware slot of the one Express app, per variant; variants without one run without the layer. */
const expressSlot = new Map<AppVariant, RequestHandler>();
let expressApp: Express | undefined;
let expressLayers: { all: unknown[]; withoutSlot: unknown[] } | undefined;

/**
 * Express gives every app its own request and response prototypes, and two identical apps in one process
 * then differ in CPU per request by several per cent, at random per process (seen here: 1.027, 1.084 and
 * 0.950 for the A/A pair in three processes). So the variants share one app and differ only in its first
 * layer: none (bare, the peers), a no-op middleware, or lameduck's, switched between windows by
 * `selectVariant()`. (Express's own CPU per request still swings by ±25% between windows here.)
 */
async function buildExpress(variant: AppVariant, listening: Server): Promise<Server> {
  if (expressApp === undefined) {
    const app = express();
    expressApp = app;
    app.use(function slot(_req: Request, _res: Response, next: NextFunction) {
      next();
    });
    app.get('/', (_req, res) => {
      res.send(HELLO);
    });
    const stack = (app as unknown as { router: { stack: unknown[] } }).router.stack;
    expressLayers = { all: [...stack], withoutSlot: stack.slice(1) };
  }
  const slot = (handler: RequestHandler): void =>
    void expressSlot.set(variant, IN_PATH ? timedExpress(handler) : handler);
  if (isNoop(variant)) slot((_req: Request, _res: Response, next: NextFunction) => next());
  if (variant === 'lameduck') {
    const drain = expressGraceful({ readinessDelay: 0 });
    slot(drain);
    drain.lameduck.attach(listening);
  }
  return http.createServer(expressApp);
}

function selectHono(variant: CpuVariant): void {
  honoCurrent = honoSlot.get(variant as AppVariant);
}

function selectExpress(variant: CpuVariant): void {
  const stack = (expressApp as unknown as { router: { stack: { handle: unknown }[] } }).router.stack;
  const handler = expressSlot.get(variant as AppVariant);
  const layers = (handler === undefined ? expressLayers!.withoutSlot : expressLayers!.all) as typeof stack;
  stack.splice(0, stack.length, ...layers);
  if (handler !== undefined) stack[0]!.handle = handler;
}

let koaApp: Koa | undefined;

/** Koa, like Express, gives each app its own prototypes: one app, a new composition of its middleware per variant. */
async function buildKoa(variant: AppVariant, listening: Server): Promise<Server> {
  const app = (koaApp ??= new Koa());
  const hello = (ctx: Context): void => {
    ctx.body = HELLO;
  };
  const first: Middleware[] = [];
  const layer = (middleware: Middleware): void => void first.push(IN_PATH ? timedKoa(middleware) : middleware);
  if (isNoop(variant)) layer((_ctx: Context, next: Next) => next());
  if (variant === 'lameduck') {
    const drain = koaGraceful({ readinessDelay: 0 });
    layer(drain);
    drain.lameduck.attach(listening);
  }
  // callback() composes the array app.middleware is then: a new array per variant keeps each its own.
  app.middleware = [...first, hello];
  return http.createServer(app.callback());
}

async function buildFastify(variant: AppVariant, listening: Server): Promise<Server> {
  // serverFactory: Fastify's handler on a server of our own, which the listening server hands requests to.
  const app = Fastify({ serverFactory: (handler) => http.createServer(handler) });
  // In-path timing: one hook before the variant's own and one after; every timed variant pays the two alike.
  const timed = IN_PATH && variant !== 'bare' && variant !== 'bare-aa';
  if (timed) app.addHook('onRequest', (_request, _reply, done) => (enter(), done()));
  if (isNoop(variant)) app.addHook('onRequest', (_request, _reply, done) => done());
  if (variant === 'lameduck') {
    await app.register(fastifyGraceful, { readinessDelay: 0 });
    app.lameduck.attach(listening);
  }
  if (timed) app.addHook('onRequest', (_request, _reply, done) => (leave(), done()));
  app.get('/', async () => HELLO);
  await app.ready();
  return app.server;
}

let honoApp: Hono | undefined;
/** The middleware each Hono variant runs first; `bare` and the peers run none. */
const honoSlot = new Map<AppVariant, MiddlewareHandler>();
let honoCurrent: MiddlewareHandler | undefined;

/**
 * Hono as @hono/node-server serves it (the app's fetch behind node-server's request listener). Separate
 * apps per variant differed by ±0.5 µs per request at random per process (the A/A pair, built alike), as
 * much as lameduck's whole cost: so the variants share one app whose first middleware hands on to the
 * variant's own (`selectVariant`), an indirection every variant pays alike.
 */
async function buildHono(variant: AppVariant, listening: Server): Promise<Server> {
  if (honoApp === undefined) {
    honoApp = new Hono();
    honoApp.use(function slot(c, next) {
      return honoCurrent === undefined ? next() : honoCurrent(c, next);
    });
    honoApp.get('/', (c) => c.text(HELLO));
  }
  const slot = (middleware: MiddlewareHandler): void =>
    void honoSlot.set(variant, IN_PATH ? timedHono(middleware) : middleware);
  if (isNoop(variant)) slot((_c, next) => next());
  if (variant === 'lameduck') {
    const drain = honoGraceful({ readinessDelay: 0 });
    slot(drain as unknown as MiddlewareHandler);
    drain.lameduck.attach(listening);
  }
  return http.createServer(getRequestListener(honoApp.fetch));
}

let nestApp: Promise<{ bare: http.RequestListener; server: Server; lameduck: Lameduck }> | undefined;

/**
 * Nest on Express, like Express, has one app for all variants (its Express app's prototypes): `bare` is the
 * app's request listener as Nest made it, `lameduck` the same app's server after `setupLameduck()`, whose
 * listener answers through lameduck first. The module itself adds no work per request.
 */
async function createNestApp(): Promise<{ bare: http.RequestListener; server: Server; lameduck: Lameduck }> {
  @Controller()
  class HelloController {
    @Get()
    hello(): string {
      return HELLO;
    }
  }
  @Module({ imports: [LameduckModule.forRoot({ readinessDelay: 0 })], controllers: [HelloController] })
  class AppModule {}
  const app = await NestFactory.create(AppModule, new ExpressAdapter(), { logger: false });
  const server = app.getHttpServer() as Server;
  const bare = server.listeners('request')[0] as http.RequestListener;
  if (IN_PATH) {
    // The listener setupLameduck() puts ahead of Nest's hands on to this one: the in-path time ends here.
    server.removeAllListeners('request');
    server.on('request', function handedOn(req: IncomingMessage, res: ServerResponse) {
      leave();
      bare(req, res);
    });
  }
  const lameduck = setupLameduck(app);
  await app.init();
  return { bare, server, lameduck };
}

async function buildNest(variant: AppVariant, listening: Server): Promise<Server> {
  const shared = await (nestApp ??= createNestApp());
  if (variant !== 'lameduck') {
    if (!IN_PATH) return http.createServer(shared.bare);
    return http.createServer(function timedBare(req, res) {
      enter();
      leave();
      shared.bare(req, res);
    });
  }
  shared.lameduck.attach(listening);
  if (!IN_PATH) return shared.server;
  const [lameduckRequest] = shared.server.listeners('request') as http.RequestListener[];
  return http.createServer(function timedLameduck(req, res) {
    enter();
    lameduckRequest!.call(shared.server, req, res);
  });
}

export const BUILDERS: Record<Framework, Builder> = {
  'node:http': buildNode,
  express: buildExpress,
  koa: buildKoa,
  fastify: buildFastify,
  hono: buildHono,
  nestjs: buildNest,
};

/** Called on every switch, before `variant` serves: the frameworks whose variants share an app set it up. */
export function selectVariant(framework: Framework, variant: CpuVariant): void {
  if (framework === 'express') selectExpress(variant);
  if (framework === 'hono') selectHono(variant);
}
