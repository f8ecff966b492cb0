/** `@lameduck/nestjs/grpc`: `gracefulGrpc(app, options)`, a gRPC microservice of a Nest application drained by its `LameduckModule` manager. */
import type { INestApplicationContext } from '@nestjs/common';
import { Transport, type GrpcOptions } from '@nestjs/microservices';
import { invalidOption, isLameduck, type Lameduck } from '@lameduck/core';
import type { Server, ServerOptions } from '@grpc/grpc-js';
import { createGrpcDrain, type GrpcDrainOptions } from '@lameduck/grpc';
import { moduleManager } from './setup.js';

/**
 * Drains a gRPC microservice of a hybrid application with lameduck's semantics, where Nest alone calls
 * `forceShutdown()` on `app.close()` and cancels every call in flight (nestjs/nest#12005). Returns your
 * options with lameduck's interceptor in `channelOptions` and the server attached to the application's
 * `LameduckModule` manager as Nest creates it: one signal, one lame-duck phase (health `NOT_SERVING`,
 * the HTTP readiness probe failing), one drain (GOAWAY, unary calls finish, streams end on
 * `drainSignal`), one deadline and one result for HTTP and gRPC. `drainOptions` are `createGrpcDrain()`'s
 * (`health`, the health service that is told first).
 * @example
 * const app = await NestFactory.create(AppModule);
 * setupLameduck(app);
 * app.connectMicroservice<GrpcOptions>(
 *   gracefulGrpc(app, { transport: Transport.GRPC, options: { package: 'hero', protoPath, url: '0.0.0.0:5000' } }),
 * );
 * await app.startAllMicroservices();
 * await app.listen(3000);
 *
 * A standalone microservice (`NestFactory.createMicroservice()`) does not exist yet when its options are
 * made: pass the manager instead of the application, the one given to `LameduckModule.forRoot({ lameduck })`,
 * and call `setupLameduck(app)` before `app.listen()`.
 * @example
 * const app = await NestFactory.createMicroservice<GrpcOptions>(AppModule, gracefulGrpc(lameduck, grpcOptions));
 * setupLameduck(app);
 * await app.listen();
 */
export function gracefulGrpc(
  app: INestApplicationContext | Lameduck,
  grpcOptions: GrpcOptions,
  drainOptions?: GrpcDrainOptions,
): GrpcOptions {
  const lameduck = isLameduck(app) ? app : moduleManager(app, 'gracefulGrpc(app)');
  if (typeof grpcOptions !== 'object' || grpcOptions === null) {
    throw invalidOption('gracefulGrpc options', 'the options of connectMicroservice()', grpcOptions);
  }
  if (grpcOptions.transport !== Transport.GRPC) {
    throw invalidOption('transport', `Transport.GRPC (${Transport.GRPC})`, grpcOptions.transport);
  }
  const own = grpcOptions.options;
  if (typeof own !== 'object' || own === null) {
    throw invalidOption('options', 'the gRPC options (package, protoPath, url…)', own);
  }
  const graceful = createGrpcDrain(drainOptions);
  return {
    ...grpcOptions,
    options: {
      ...own,
      // Nest builds the server from these (with its own message-size and keepalive options added).
      channelOptions: graceful.serverOptions(own.channelOptions as ServerOptions | undefined),
      onLoadPackageDefinition(pkg: unknown, server: Server) {
        own.onLoadPackageDefinition?.(pkg, server);
        lameduck.attach(graceful(server));
      },
    },
  };
}
