/** The example's module, the same on platform-express and platform-fastify: LameduckModule with the contract's settings, the routes, the WebSocket. */
import type { Server } from 'node:http';
import {
  Controller,
  Get,
  Header,
  Injectable,
  Module,
  Query,
  StreamableFile,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { WebSocketServer } from 'ws';
import { EVENT_HEADERS, eventStream, METRICS_PATH, settings, slow } from '@lameduck/example-contract';
import {
  InjectLameduck,
  LameduckModule,
  prometheusMetrics,
  PROMETHEUS_CONTENT_TYPE,
  type Lameduck,
} from '@lameduck/nestjs';

/** What `/` says: a provider injected by its type, which needs the emitted decorator metadata. */
@Injectable()
export class Greeting {
  /** The examples' name for this server: `nestjs` on platform-express (Nest's default), `nestjs-fastify` on platform-fastify. */
  readonly framework: string;
  readonly text: string;

  constructor(adapterHost: HttpAdapterHost) {
    this.framework = adapterHost.httpAdapter.getType() === 'fastify' ? 'nestjs-fastify' : 'nestjs';
    this.text = `hello from ${this.framework}\n`;
  }
}

/**
 * `/ws` on Nest's own http.Server (the platform's WebSocket, `ws`): 1001 to every client when the
 * drain starts. The server exists once the application does, so it is found at bootstrap.
 */
@Injectable()
export class Sockets implements OnApplicationBootstrap, OnModuleDestroy {
  private wss: WebSocketServer | undefined;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly greeting: Greeting,
    @InjectLameduck() private readonly lameduck: Lameduck,
  ) {}

  onApplicationBootstrap(): void {
    const wss = new WebSocketServer({ server: this.adapterHost.httpAdapter.getHttpServer() as Server, path: '/ws' });
    wss.on('connection', (socket) => socket.send(`hello from ${this.greeting.framework}`));
    this.lameduck.addCloser(() => {
      for (const client of wss.clients) client.close(1001, 'server shutting down');
    });
    this.wss = wss;
  }

  onModuleDestroy(): void {
    this.wss?.close();
  }
}

@Controller()
export class AppController {
  constructor(
    private readonly greeting: Greeting,
    @InjectLameduck() private readonly lameduck: Lameduck,
  ) {}

  @Get()
  hello(): string {
    return this.greeting.text;
  }

  @Get('slow')
  slow(@Query('ms') ms?: string): Promise<string> {
    return slow(Number(ms) || 0, this.lameduck.deadlineSignal);
  }

  // In keepServing: still answered after the listener has closed. A StreamableFile on both platforms:
  // its type is sent as is (Express's send() would move the charset in front of the format's version).
  @Get(METRICS_PATH.slice(1))
  metrics(): StreamableFile {
    return new StreamableFile(Buffer.from(prometheusMetrics(this.lameduck)), { type: PROMETHEUS_CONTENT_TYPE });
  }

  @Get('events')
  @Header('cache-control', EVENT_HEADERS['cache-control'])
  events(): StreamableFile {
    return new StreamableFile(eventStream(this.lameduck.drainSignal), { type: EVENT_HEADERS['content-type'] });
  }
}

@Module({
  imports: [LameduckModule.forRoot(settings.lameduck)],
  controllers: [AppController],
  providers: [Greeting, Sockets],
})
export class AppModule {}
