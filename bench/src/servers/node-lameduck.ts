/** node:http with @lameduck/core: handle() first, attach() before listen(), handleSignals(); readinessDelay 0. */
import http from 'node:http';
import { createLameduck } from '@lameduck/core';
import { nodeHandler } from './app-node.js';
import { announce, prepare } from './common.js';

// No load balancer routes by readiness here, so no readiness delay (the README's advice for that case).
const lameduck = createLameduck({ readinessDelay: 0 });
const routes = nodeHandler(() => server);
const server: http.Server = http.createServer((req, res) => {
  if (lameduck.handle(req, res)) return;
  routes(req, res);
});
lameduck.attach(server);
lameduck.handleSignals();
const wss = prepare(server);
if (wss !== undefined) {
  lameduck.addCloser(() => {
    for (const client of wss.clients) client.close(1001, 'server shutting down');
  });
}
server.listen(0, '127.0.0.1', () => announce(server));
