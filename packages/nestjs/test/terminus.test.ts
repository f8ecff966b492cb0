/** @nestjs/terminus beside the module: its indicator as a lameduck readiness check, lameduck's state in its health controller. */
import 'reflect-metadata';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Controller, Get, Inject, Injectable, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { HealthCheck, HealthCheckService, HealthIndicatorService, TerminusModule } from '@nestjs/terminus';
import { request } from '@lameduck/test-utils';
import {
  fromIndicator,
  InjectLameduck,
  LameduckModule,
  lameduckIndicator,
  setupLameduck,
  type Lameduck,
} from '@lameduck/nestjs';

/** A terminus indicator as terminus 11 writes them (HealthIndicatorService), over a database that can fail. */
@Injectable()
class DatabaseIndicator {
  up = true;
  constructor(@Inject(HealthIndicatorService) private readonly indicators: HealthIndicatorService) {}
  async isHealthy(key: string) {
    const session = this.indicators.check(key);
    return this.up ? session.up() : session.down({ reason: 'connection refused' });
  }
}

@Module({ imports: [TerminusModule], providers: [DatabaseIndicator], exports: [DatabaseIndicator] })
class HealthModule {}

@Controller('health')
class HealthController {
  constructor(
    @Inject(HealthCheckService) private readonly health: HealthCheckService,
    @Inject(DatabaseIndicator) private readonly db: DatabaseIndicator,
    @InjectLameduck() private readonly lameduck: Lameduck,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => lameduckIndicator(this.lameduck), () => this.db.isHealthy('db')]);
  }
}

@Module({
  imports: [
    HealthModule,
    TerminusModule,
    LameduckModule.forRootAsync({
      imports: [HealthModule],
      inject: [DatabaseIndicator],
      useFactory: (db: DatabaseIndicator) => ({
        handleSignals: false,
        silent: true,
        checks: { db: fromIndicator(() => db.isHealthy('db')) },
      }),
    }),
  ],
  controllers: [HealthController],
})
class AppModule {}

let app: INestApplication;
let port: number;
let lameduck: Lameduck;
beforeEach(async () => {
  app = await NestFactory.create(AppModule, new ExpressAdapter(), { logger: false });
  lameduck = setupLameduck(app);
  await app.listen(0, '127.0.0.1');
  port = ((app.getHttpServer() as http.Server).address() as AddressInfo).port;
});
afterEach(async () => {
  (app.getHttpServer() as http.Server).closeAllConnections();
  await app.close();
});

test('a terminus indicator as a lameduck check: its down result makes /readyz 503', async () => {
  const ready = await request(port, { path: '/readyz', agent: false });
  expect(JSON.parse(ready.body)).toEqual({ status: 'ready', checks: { db: { status: 'ok' } } });
  app.get(DatabaseIndicator).up = false;
  const unready = await request(port, { path: '/readyz', agent: false });
  expect(unready.status).toBe(503);
  expect(JSON.parse(unready.body)).toEqual({ status: 'not ready', checks: { db: { status: 'failed' } } });
});

test('lameduck’s state in a terminus health controller: up while serving, down (503) once shutdown starts', async () => {
  const healthy = await request(port, { path: '/health', agent: false });
  expect(healthy.status).toBe(200);
  expect(JSON.parse(healthy.body)).toMatchObject({
    status: 'ok',
    info: { lameduck: { status: 'up', state: 'serving' }, db: { status: 'up' } },
  });
  // The lame-duck phase: requests are still served, and terminus reports the shutdown.
  const done = lameduck.shutdown('SIGTERM', { readinessDelay: 500 });
  const draining = await request(port, { path: '/health', agent: false });
  expect(draining.status).toBe(503);
  expect(JSON.parse(draining.body)).toMatchObject({
    status: 'error',
    error: { lameduck: { status: 'down', state: 'lameduck' } },
  });
  expect(await done).toMatchObject({ graceful: true });
});
