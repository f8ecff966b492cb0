/** What is Nest's own in @lameduck/nestjs, in process on both platforms; what every adapter shares is in the conformance matrix. */
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  Controller,
  Get,
  Inject,
  Injectable,
  Module,
  UseGuards,
  UseInterceptors,
  UsePipes,
  type CallHandler,
  type CanActivate,
  type INestApplication,
  type NestInterceptor,
  type OnModuleDestroy,
  type PipeTransform,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import type { Logger } from '@lameduck/core';
import { aborted, deferred, once, request, unfinishedTlsConnections } from '@lameduck/test-utils';
import {
  InjectLameduck,
  LAMEDUCK,
  LAMEDUCK_OPTIONS,
  LameduckModule,
  fromIndicator,
  lameduckIndicator,
  setupLameduck,
  type Lameduck,
  type LameduckModuleOptions,
  type LameduckOptionsFactory,
} from '@lameduck/nestjs';

const QUIET = { handleSignals: false, silent: true } as const;
const FIXTURES = join(__dirname, '..', '..', 'core', 'test', 'fixtures');
const TLS = { key: readFileSync(join(FIXTURES, 'key.pem')), cert: readFileSync(join(FIXTURES, 'cert.pem')) };

/** Every layer of Nest's pipeline, counting what reaches it; the guard refuses everything. */
const reached: string[] = [];
class DenyGuard implements CanActivate {
  canActivate(): boolean {
    reached.push('guard');
    return false;
  }
}
class CountingInterceptor implements NestInterceptor {
  intercept(_context: unknown, next: CallHandler) {
    reached.push('interceptor');
    return next.handle();
  }
}
class CountingPipe implements PipeTransform {
  transform(value: unknown) {
    reached.push('pipe');
    return value;
  }
}

@Injectable()
class Events implements OnModuleDestroy {
  readonly order: string[] = [];
  constructor(@InjectLameduck() readonly lameduck: Lameduck) {}
  onModuleDestroy(): void {
    this.order.push('onModuleDestroy');
  }
}

const slow = { arrived: deferred(), release: deferred() };

@Controller()
@UseGuards(DenyGuard)
@UseInterceptors(CountingInterceptor)
@UsePipes(CountingPipe)
class GuardedController {
  @Get('guarded')
  guarded(): string {
    return 'never';
  }
}

@Controller()
class SlowController {
  constructor(@Inject(Events) private readonly events: Events) {}
  @Get('slow')
  async slow(): Promise<string> {
    slow.arrived.resolve();
    await slow.release.promise;
    this.events.order.push('response');
    return 'slow done';
  }
}

const apps: INestApplication[] = [];
const tlsAgents: https.Agent[] = [];
afterEach(async () => {
  reached.length = 0;
  for (const agent of tlsAgents.splice(0)) agent.destroy();
  for (const app of apps.splice(0)) {
    (app.getHttpServer() as http.Server).closeAllConnections();
    await app.close();
  }
});

function adapter(platform: string) {
  return platform === 'express' ? new ExpressAdapter() : new FastifyAdapter();
}

async function listen(app: INestApplication): Promise<number> {
  await app.listen(0, '127.0.0.1');
  return ((app.getHttpServer() as http.Server).address() as AddressInfo).port;
}

describe.each(['express', 'fastify'])('Nest on platform-%s', (platform) => {
  async function create(module: object, setup = true): Promise<{ app: INestApplication; lameduck?: Lameduck }> {
    const app = await NestFactory.create(module as never, adapter(platform), { logger: false, abortOnError: false });
    apps.push(app);
    return { app, lameduck: setup ? setupLameduck(app) : undefined };
  }

  test('probes and the 503 are answered before middleware registered first, guards, interceptors and pipes', async () => {
    // The drain's last stretch (where a late request gets the 503) starts 1 ms after the listener closes.
    const options = { ...QUIET, readinessDelay: 0, idleGrace: 60_000, timeout: 70_000, abortBefore: 64_999 };
    @Module({ imports: [LameduckModule.forRoot(options)], controllers: [GuardedController] })
    class AppModule {}
    const app = await NestFactory.create(AppModule, adapter(platform), { logger: false });
    apps.push(app);
    // Registered before setupLameduck(): lameduck still answers first.
    app.use((_req: http.IncomingMessage, res: http.ServerResponse) => {
      reached.push('middleware');
      res.statusCode = 401;
      res.end('authorization required');
    });
    const lameduck = setupLameduck(app);
    const port = await listen(app);
    expect((await request(port, { path: '/readyz', agent: false })).status).toBe(200);
    expect((await request(port, { path: '/livez', agent: false })).status).toBe(200);
    expect(reached).toEqual([]);
    expect((await request(port, { path: '/guarded', agent: false })).status).toBe(401);
    expect(reached).toEqual(['middleware']);

    reached.length = 0;
    const agent = new http.Agent({ keepAlive: true });
    await request(port, { path: '/readyz', agent });
    const hold = deferred();
    void lameduck.addTask(hold.promise);
    const done = lameduck.shutdown('deploy', { readinessDelay: 0 });
    await aborted(lameduck.deadlineSignal);
    const late = await request(port, { path: '/guarded', agent });
    expect(late.status).toBe(503);
    expect(late.headers['retry-after']).toBe('5');
    expect(reached).toEqual([]);
    agent.destroy();
    hold.resolve();
    expect(await done).toMatchObject({ graceful: true, requests: { rejected: 1 } });
  });

  test('the server is attached by setupLameduck(), before listen(); the manager is injectable by token and decorator', async () => {
    @Module({ imports: [LameduckModule.forRoot(QUIET)], providers: [Events] })
    class AppModule {}
    const { app, lameduck } = await create(AppModule);
    expect(lameduck!.stats().servers).toBe(1);
    expect(app.get(LAMEDUCK)).toBe(lameduck);
    expect(app.get(Events).lameduck).toBe(lameduck);
  });

  test('forRootAsync: options from a factory, with imports and inject', async () => {
    const CONFIG = 'CONFIG';
    @Module({ providers: [{ provide: CONFIG, useValue: { path: '/health/ready' } }], exports: [CONFIG] })
    class ConfigModule {}
    @Module({
      imports: [
        LameduckModule.forRootAsync({
          imports: [ConfigModule],
          inject: [CONFIG],
          useFactory: async (config: { path: string }) => ({ ...QUIET, readinessPath: config.path }),
        }),
      ],
    })
    class AppModule {}
    const { app } = await create(AppModule);
    const port = await listen(app);
    expect(JSON.parse((await request(port, { path: '/health/ready' })).body)).toEqual({ status: 'ready' });
  });

  test('HTTPS (Nest’s httpsOptions): probes over TLS; a request in flight finishes with Connection: close; idle, stalled-handshake and unused sockets close; graceful', async () => {
    slow.arrived = deferred();
    slow.release = deferred();
    @Module({
      imports: [LameduckModule.forRoot({ ...QUIET, readinessDelay: 0, idleGrace: 20 })],
      controllers: [SlowController],
      providers: [Events],
    })
    class AppModule {}
    // Each platform's way: NestFactory's httpsOptions on Express, the adapter's https option on Fastify.
    const app =
      platform === 'express'
        ? await NestFactory.create(AppModule, new ExpressAdapter(), { logger: false, httpsOptions: TLS })
        : await NestFactory.create(AppModule, new FastifyAdapter({ https: TLS }), { logger: false });
    apps.push(app);
    const lameduck = setupLameduck(app);
    const port = await listen(app);
    expect(app.getHttpServer()).toBeInstanceOf(https.Server);

    // One TLS connection that sends nothing, one stalled in its ClientHello: neither handshake completes.
    const closed = await unfinishedTlsConnections(port);
    const tlsAgent = () => {
      const agent = new https.Agent({ keepAlive: true, rejectUnauthorized: false });
      tlsAgents.push(agent);
      return agent;
    };
    const ready = await request(port, { tls: true, path: '/readyz', agent: tlsAgent() });
    expect(JSON.parse(ready.body)).toEqual({ status: 'ready' });
    closed.push(once(ready.socket, 'close'));

    const reply = request(port, { tls: true, path: '/slow', agent: tlsAgent() });
    await slow.arrived.promise;
    const done = lameduck.shutdown('SIGTERM');
    slow.release.resolve();
    const served = await reply;
    expect(served).toMatchObject({ status: 200, body: 'slow done' });
    expect(served.headers.connection).toBe('close');
    expect(await done).toMatchObject({ graceful: true, forced: false, destroyedConnections: 0 });
    await Promise.all(closed);
  });

  test('a bad option rejects NestFactory.create() with LAMEDUCK_INVALID_OPTION naming it', async () => {
    @Module({ imports: [LameduckModule.forRoot({ ...QUIET, timeout: -1 })] })
    class AppModule {}
    await expect(
      NestFactory.create(AppModule, adapter(platform), { logger: false, abortOnError: false }),
    ).rejects.toMatchObject({ code: 'LAMEDUCK_INVALID_OPTION', option: 'timeout', received: -1 });
  });

  test('setupLameduck() on an app without the module: LAMEDUCK_INVALID_ARGUMENT saying what to import', async () => {
    @Module({})
    class AppModule {}
    const { app } = await create(AppModule, false);
    expect(() => setupLameduck(app)).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_INVALID_ARGUMENT', message: expect.stringMatching(/LameduckModule/) }),
    );
  });

  test('a programmatic app.close() drains first: the request in flight is answered before onModuleDestroy', async () => {
    slow.arrived = deferred();
    slow.release = deferred();
    @Module({ imports: [LameduckModule.forRoot(QUIET)], controllers: [SlowController], providers: [Events] })
    class AppModule {}
    const { app, lameduck } = await create(AppModule);
    apps.splice(apps.indexOf(app), 1);
    const port = await listen(app);
    const reply = request(port, { path: '/slow' });
    await slow.arrived.promise;
    const closed = app.close();
    expect(lameduck!.state).toBe('draining');
    slow.release.resolve();
    expect(await reply).toMatchObject({ status: 200, body: 'slow done' });
    await closed;
    expect(app.get(Events).order).toEqual(['response', 'onModuleDestroy']);
    // Nest closed a server lameduck had already closed: no error, graceful.
    expect(await lameduck!.shutdown()).toMatchObject({
      reason: 'app.close()',
      graceful: true,
      exitCode: 0,
      hookFailures: [],
    });
  });

  test('a shutdown started by lameduck (a signal) ends by closing the app: Nest’s hooks run inside the result', async () => {
    @Module({ imports: [LameduckModule.forRoot(QUIET)], providers: [Events] })
    class AppModule {}
    const { app, lameduck } = await create(AppModule);
    apps.splice(apps.indexOf(app), 1);
    await listen(app);
    const result = await lameduck!.shutdown('SIGTERM');
    expect(app.get(Events).order).toEqual(['onModuleDestroy']);
    expect(result).toMatchObject({ graceful: true, exitCode: 0, hookFailures: [] });
  });

  test('with handleSignals: false, enableShutdownHooks() is left to the application, without a warning', async () => {
    const warnings: string[] = [];
    const logger: Logger = { info() {}, error() {}, warn: (_fields, message) => void warnings.push(message ?? '') };
    @Module({ imports: [LameduckModule.forRoot({ logger, handleSignals: false })] })
    class AppModule {}
    const before = process.listenerCount('SIGTERM');
    const app = await NestFactory.create(AppModule, adapter(platform), { logger: false });
    apps.push(app);
    app.enableShutdownHooks();
    expect(process.listenerCount('SIGTERM')).toBe(before + 1);
    // handleSignals: false leaves Nest's hooks alone (they may be how the application stops).
    setupLameduck(app);
    expect(process.listenerCount('SIGTERM')).toBe(before + 1);
    expect(warnings).toEqual([]);
  });
});

describe.each(['express', 'fastify'])('an app from @nestjs/testing on platform-%s', (platform) => {
  test('the app module with its options overridden, createNestApplication(), setupLameduck(), served as supertest serves it: probes answer, app.close() drains before onModuleDestroy', async () => {
    slow.arrived = deferred();
    slow.release = deferred();
    // The application's own root module, as main.ts uses it: signals handled (the default).
    @Module({
      imports: [LameduckModule.forRoot({ timeout: 20_000 })],
      controllers: [SlowController],
      providers: [Events],
    })
    class AppModule {}
    const signals = () => process.listenerCount('SIGTERM');
    const before = signals();
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
      .overrideProvider(LAMEDUCK_OPTIONS)
      .useValue(QUIET)
      .compile();
    const app = moduleRef.createNestApplication(adapter(platform), { logger: false });
    apps.push(app);
    const lameduck = setupLameduck(app);
    expect(lameduck.stats().servers).toBe(1);
    expect(app.get(Events).lameduck).toBe(lameduck);
    // The test's options: no signal handler in the test runner's process.
    expect(signals()).toBe(before);
    // What supertest does with app.getHttpServer(): listen on port 0 itself, without app.listen() (after
    // Fastify's ready() on platform-fastify, as Nest's testing docs say).
    await app.init();
    if (platform === 'fastify') await (app.getHttpAdapter().getInstance() as { ready(): Promise<unknown> }).ready();
    const server = app.getHttpServer() as http.Server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    expect((await request(port, { path: '/readyz' })).status).toBe(200);

    const reply = request(port, { path: '/slow' });
    await slow.arrived.promise;
    apps.splice(apps.indexOf(app), 1);
    const closed = app.close();
    expect(lameduck.state).toBe('draining');
    slow.release.resolve();
    expect(await reply).toMatchObject({ status: 200, body: 'slow done' });
    await closed;
    expect(app.get(Events).order).toEqual(['response', 'onModuleDestroy']);
    expect(await lameduck.shutdown()).toMatchObject({ reason: 'app.close()', graceful: true, hookFailures: [] });
  });
});

describe('forRootAsync with an options factory class (LameduckOptionsFactory)', () => {
  const CONFIG = 'CONFIG';
  /** A factory with an injected dependency, counting its instances and its calls. */
  @Injectable()
  class LameduckConfig implements LameduckOptionsFactory {
    static instances = 0;
    calls = 0;
    constructor(@Inject(CONFIG) private readonly config: { path: string }) {
      LameduckConfig.instances += 1;
    }
    async createLameduckOptions(): Promise<LameduckModuleOptions> {
      this.calls += 1;
      return { ...QUIET, readinessPath: this.config.path };
    }
  }
  @Module({ providers: [{ provide: CONFIG, useValue: { path: '/health/ready' } }], exports: [CONFIG] })
  class ConfigModule {}
  @Module({ imports: [ConfigModule], providers: [LameduckConfig], exports: [LameduckConfig] })
  class ConfigWithFactoryModule {}

  async function readiness(module: object): Promise<{ app: INestApplication; body: unknown }> {
    LameduckConfig.instances = 0;
    const app = await NestFactory.create(module as never, new ExpressAdapter(), { logger: false });
    apps.push(app);
    setupLameduck(app);
    const port = await listen(app);
    return { app, body: JSON.parse((await request(port, { path: '/health/ready' })).body) };
  }

  test('useClass: the module instantiates the class with its injections and takes createLameduckOptions()', async () => {
    @Module({ imports: [LameduckModule.forRootAsync({ imports: [ConfigModule], useClass: LameduckConfig })] })
    class AppModule {}
    const { body } = await readiness(AppModule);
    expect(body).toEqual({ status: 'ready' });
    expect(LameduckConfig.instances).toBe(1);
  });

  test('useExisting: the instance an imported module provides is used, not a new one', async () => {
    @Module({
      imports: [
        ConfigWithFactoryModule,
        LameduckModule.forRootAsync({ imports: [ConfigWithFactoryModule], useExisting: LameduckConfig }),
      ],
    })
    class AppModule {}
    const { app, body } = await readiness(AppModule);
    expect(body).toEqual({ status: 'ready' });
    expect(LameduckConfig.instances).toBe(1);
    expect(app.get(LameduckConfig).calls).toBe(1);
  });

  test.each([
    ['none', {}],
    ['two', { useClass: LameduckConfig, useFactory: () => ({}) }],
    ['inject alone', { inject: [CONFIG] }],
  ])('%s of useFactory, useClass, useExisting: LAMEDUCK_INVALID_OPTION naming forRootAsync', (_label, options) => {
    expect(() => LameduckModule.forRootAsync(options as never)).toThrow(
      expect.objectContaining({
        name: 'TypeError',
        code: 'LAMEDUCK_INVALID_OPTION',
        option: 'forRootAsync',
        received: options,
      }),
    );
  });
});

describe('enableShutdownHooks() with lameduck handling signals', () => {
  test.each(['before', 'after'])(
    'called %s setupLameduck(): no Nest listener remains, one warning with the fix',
    async (when) => {
      const warnings: { fields: object; message: string }[] = [];
      const logger: Logger = {
        info() {},
        error() {},
        warn: (fields, message) => void warnings.push({ fields, message: message ?? '' }),
      };
      @Module({ imports: [LameduckModule.forRoot({ logger })] })
      class AppModule {}
      const signals = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
      const count = () => signals.map((signal) => process.listenerCount(signal));
      const baseline = count();
      const app = await NestFactory.create(AppModule, new ExpressAdapter(), { logger: false });
      apps.push(app);
      const lameduck = app.get<Lameduck>(LAMEDUCK);
      try {
        if (when === 'before') app.enableShutdownHooks();
        setupLameduck(app);
        app.enableShutdownHooks();
        app.enableShutdownHooks(['SIGHUP']);
        // lameduck's own SIGTERM and SIGINT listeners, and nothing of Nest's.
        expect(count()).toEqual([baseline[0]! + 1, baseline[1]! + 1, baseline[2]]);
        expect(warnings).toHaveLength(1);
        expect(warnings[0]!.fields).toEqual({ code: 'LAMEDUCK_NEST_SHUTDOWN_HOOKS' });
        expect(warnings[0]!.message).toMatch(/Remove the call/);
      } finally {
        lameduck.handleSignals().uninstall();
      }
    },
  );
});

describe('setupLameduck() forgotten', () => {
  test('the module says so once, when the application starts, with the fix', async () => {
    const warnings: { fields: object; message: string }[] = [];
    const logger: Logger = {
      info() {},
      error() {},
      warn: (fields, message) => void warnings.push({ fields, message: message ?? '' }),
    };
    @Module({ imports: [LameduckModule.forRoot({ logger, handleSignals: false })] })
    class Forgotten {}
    const app = await NestFactory.create(Forgotten, new ExpressAdapter(), { logger: false });
    apps.push(app);
    await app.init();
    expect(warnings).toEqual([
      { fields: { code: 'LAMEDUCK_NEST_NOT_SET_UP' }, message: expect.stringMatching(/Add setupLameduck\(app\)/) },
    ]);

    warnings.length = 0;
    @Module({ imports: [LameduckModule.forRoot({ logger, handleSignals: false })] })
    class SetUp {}
    const other = await NestFactory.create(SetUp, new ExpressAdapter(), { logger: false });
    apps.push(other);
    setupLameduck(other);
    await other.init();
    expect(warnings).toEqual([]);
  });
});

describe('@nestjs/terminus interop', () => {
  test('fromIndicator(): an indicator’s down result (or a throw) fails the lameduck check; up passes', async () => {
    let status: 'up' | 'down' = 'up';
    const check = fromIndicator(async () => ({ db: { status } }));
    expect(await check(new AbortController().signal)).toBe(true);
    status = 'down';
    expect(await check(new AbortController().signal)).toBe(false);
    const throwing = fromIndicator(() => {
      throw new Error('HealthCheckError');
    });
    await expect(throwing(new AbortController().signal)).rejects.toThrow('HealthCheckError');
  });

  test('lameduckIndicator(): up while serving, down with the state once shutdown starts', async () => {
    @Module({ imports: [LameduckModule.forRoot(QUIET)] })
    class AppModule {}
    const app = await NestFactory.create(AppModule, new ExpressAdapter(), { logger: false });
    apps.push(app);
    const lameduck = setupLameduck(app);
    expect(lameduckIndicator(lameduck)).toEqual({ lameduck: { status: 'up', state: 'serving' } });
    const done = lameduck.shutdown('deploy', { readinessDelay: 0 });
    expect(lameduckIndicator(lameduck, 'shutdown')).toEqual({ shutdown: { status: 'down', state: 'draining' } });
    await done;
  });
});
