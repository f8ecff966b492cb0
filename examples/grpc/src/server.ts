/** Example: a grpc-js server and an HTTP server for probes and metrics, drained by one lameduck manager, following the examples' contract. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { createLameduck, notifyReady, prometheusMetrics, PROMETHEUS_CONTENT_TYPE } from '@lameduck/core';
import { METRICS_PATH, settings, slow } from '@lameduck/example-contract';
import { createGrpcDrain } from '@lameduck/grpc';
import { HealthImplementation } from 'grpc-health-check';

const definition = loadSync(fileURLToPath(new URL('demo.proto', import.meta.url)));
const Demo = (grpc.loadPackageDefinition(definition).demo as grpc.GrpcObject).Demo as grpc.ServiceClientConstructor;
const grpcPort =
  process.env.GRPC_PORT === undefined || process.env.GRPC_PORT === '' ? 50051 : Number(process.env.GRPC_PORT);

const lameduck = createLameduck(settings.lameduck);

const health = new HealthImplementation({ '': 'SERVING', 'demo.Demo': 'SERVING' });
const graceful = createGrpcDrain({ health });
const server = new grpc.Server(graceful.serverOptions());
server.addService(Demo.service, {
  slow(
    call: grpc.ServerUnaryCall<{ ms: number }, { message: string }>,
    callback: grpc.sendUnaryData<{ message: string }>,
  ) {
    void slow(call.request.ms, lameduck.deadlineSignal).then((message) => callback(null, { message: message.trim() }));
  },
  events(call: grpc.ServerWritableStream<object, { n?: number; bye?: boolean }>) {
    let n = 0;
    call.write({ n });
    const timer = setInterval(() => call.write({ n: ++n }), 1000);
    const end = (): void => {
      clearInterval(timer);
      call.write({ bye: true });
      call.end();
    };
    call.on('cancelled', () => clearInterval(timer));
    // The drain signal: a last event, then the end (a stream never ends by itself).
    if (lameduck.drainSignal.aborted) end();
    else lameduck.drainSignal.addEventListener('abort', end, { once: true });
  },
});
health.addToServer(server);
lameduck.attach(graceful(server));

// Readiness, liveness and metrics for the orchestrator, on the same manager: readiness fails for both servers at once.
const probes = http.createServer((req, res) => {
  if (lameduck.handle(req, res)) return;
  if (req.url === METRICS_PATH) {
    res.setHeader('content-type', PROMETHEUS_CONTENT_TYPE);
    res.end(prometheusMetrics(lameduck));
  } else {
    res.statusCode = 404;
    res.end('not found\n');
  }
});
lameduck.attach(probes);

lameduck.handleSignals();
server.bindAsync(`${settings.host}:${grpcPort}`, grpc.ServerCredentials.createInsecure(), (error, boundPort) => {
  if (error) throw error;
  probes.listen(settings.listen, () => {
    const line = {
      event: 'listening',
      port: (probes.address() as AddressInfo).port,
      grpcPort: boundPort,
      framework: 'grpc',
    };
    console.log(JSON.stringify(line));
    void notifyReady(lameduck);
  });
});
