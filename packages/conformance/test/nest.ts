/** Nest apps for the matrix and the drain suite, on each platform, built as Nest users build them (a module, controllers, main.ts's calls). */
import 'reflect-metadata';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AdapterOptions, Lameduck } from '@lameduck/core';
import { LameduckModule, setupLameduck } from '@lameduck/nestjs';
import {
  Controller,
  Get,
  HttpCode,
  Module,
  Post,
  Req,
  Res,
  type CanActivate,
  type ExecutionContext,
  type INestApplication,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { Readable } from 'node:stream';
import { load } from './load.js';

/** Nest 11 (this package's own) on each platform, then Nest 12, which the ESM Jest project (`pnpm jest:nest-12`) maps in. */
export const NEST_KINDS = ['nestjs-express', 'nestjs-fastify', 'nestjs-12-express', 'nestjs-12-fastify'] as const;
export type NestKind = (typeof NEST_KINDS)[number];

export function isNestKind(kind: string): kind is NestKind {
  return (NEST_KINDS as readonly string[]).includes(kind);
}

/** Throws unless the Nest this run loaded is the major `kind` names: a matrix entry never passes on another version. */
function checkNestVersion(kind: NestKind): void {
  const expected = kind.startsWith('nestjs-12-') ? 12 : 11;
  const { version } = load('@nestjs/core/package.json') as { version: string };
  if (Number(version.split('.')[0]) !== expected) {
    throw new Error(
      `${kind} needs Nest ${expected} but this Jest run loaded @nestjs/core ${version}: ` +
        (expected === 12
          ? 'Nest 12 kinds run in the ESM project, `pnpm jest:nest-12`'
          : 'run it in the main Jest project'),
    );
  }
}

/** What the app's routes do; each is optional. */
export interface NestRoutes {
  /** `GET /`: called with the request's URL before answering `ok`. */
  root?(url: string): void;
  /** `GET /slow`: answers `slow done` once this settles. */
  slow?(): Promise<void>;
  /** `GET /events`: the stream to send as `text/event-stream`. */
  events?(lameduck: Lameduck): Readable;
  /** `GET /readyz` and `POST /readyz`: the app's own routes, reachable only when lameduck's probe is off. */
  readiness?: { get: string; post: string };
}

export interface NestApp {
  app: INestApplication;
  lameduck: Lameduck;
  server: http.Server;
  port: number;
}

/** Refuses every route unless `authorization: yes`: a guard, which lameduck's answers must never reach. */
class AuthGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    return context.switchToHttp().getRequest<{ headers: http.IncomingHttpHeaders }>().headers.authorization === 'yes';
  }
}

/**
 * Starts a Nest app on `kind`'s platform, port 0: LameduckModule with `options`, then (when `auth`)
 * a functional middleware answering 401 without `authorization: yes` and a global guard, then the routes.
 */
export async function startNest(
  kind: NestKind,
  options: AdapterOptions,
  routes: NestRoutes,
  auth = true,
): Promise<NestApp> {
  checkNestVersion(kind);
  const express = kind.endsWith('-express');
  @Controller()
  class RoutesController {
    @Get()
    root(@Req() req: { url: string }): string {
      routes.root?.(req.url);
      return 'ok';
    }

    @Get('slow')
    async slow(): Promise<string> {
      await routes.slow?.();
      return 'slow done';
    }

    @Get('events')
    events(@Res() res: unknown): void {
      // Raw streams on both platforms: Express's res, Fastify's reply (which sends a stream).
      const stream = routes.events!(lameduck);
      if (express) {
        const response = res as http.ServerResponse;
        response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
        stream.pipe(response);
      } else {
        const reply = res as { headers(h: object): { send(body: Readable): void } };
        reply.headers({ 'content-type': 'text/event-stream', 'cache-control': 'no-store' }).send(stream);
      }
    }
  }
  @Controller('readyz')
  class ReadinessController {
    @Get()
    get(): string {
      return routes.readiness?.get ?? '';
    }

    @Post()
    @HttpCode(200)
    post(): string {
      return routes.readiness?.post ?? '';
    }
  }
  @Module({
    imports: [LameduckModule.forRoot(options)],
    controllers: routes.readiness === undefined ? [RoutesController] : [RoutesController, ReadinessController],
  })
  class AppModule {}

  const adapter = express ? new ExpressAdapter() : new FastifyAdapter();
  // abortOnError off: a bad option rejects here, as every adapter's does, instead of aborting the process.
  const app = await NestFactory.create(AppModule, adapter, { logger: false, abortOnError: false });
  const lameduck = setupLameduck(app);
  if (auth) {
    app.use((req: http.IncomingMessage, res: http.ServerResponse, next: () => void) => {
      if (req.headers.authorization === 'yes') return next();
      res.statusCode = 401;
      res.end('authorization required');
    });
    app.useGlobalGuards(new AuthGuard());
  }
  await app.listen(0, '127.0.0.1');
  const server = app.getHttpServer() as http.Server;
  // Beyond the test's time: a socket closes because lameduck closed it, never by the timeout.
  server.keepAliveTimeout = 120_000;
  return { app, lameduck, server, port: (server.address() as AddressInfo).port };
}
