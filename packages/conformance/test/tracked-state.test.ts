/** Long-running traffic leaves nothing behind: lameduck's tracked state returns to its baseline (issue 8). */
import net from 'node:net';
import { keepAliveClient, serverSockets } from './raw-http.js';
import { start, type Running } from './servers.js';

// The figures are 300,000 keep-alive requests and 20,000 connections. On two shared cores an
// in-process client and server manage about 5,000 requests a second, so this runs a fifteenth of the
// requests and a tenth of the connections (a few seconds): the same code paths, many thousand times.
const REQUESTS = 20_000;
const CONNECTIONS = 2_000;
const CLIENTS = 16;
const AUTHORIZED = 'Authorization: yes\r\n';

let running: Running | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

test(`node-http: ${REQUESTS} keep-alive requests and ${CONNECTIONS} short connections leave no tracked state`, async () => {
  running = await start('node-http', { silent: true }, { slow: () => Promise.resolve() });
  const { port, lameduck, server } = running;
  const sockets = serverSockets(server);
  const baseline = lameduck.stats();
  expect(baseline).toMatchObject({ connections: 0, inflight: 0, upgraded: 0 });

  let budget = REQUESTS;
  const take = () => budget-- > 0;
  const served = await Promise.all(Array.from({ length: CLIENTS }, () => keepAliveClient(port, take, AUTHORIZED)));
  expect(served.reduce((sum, count) => sum + count, 0)).toBe(REQUESTS);

  // Short connections: one request then a close, or a connection that closes without sending anything.
  let left = CONNECTIONS;
  async function churn(): Promise<void> {
    while (left-- > 0) {
      if (left % 2 === 0) {
        let first = true;
        await keepAliveClient(port, () => first && !(first = false), AUTHORIZED);
      } else {
        const socket = net.connect(port, '127.0.0.1');
        await new Promise((resolve) => socket.once('connect', resolve));
        socket.end();
        await new Promise((resolve) => socket.once('close', resolve));
      }
    }
  }
  await Promise.all(Array.from({ length: CLIENTS }, churn));
  await sockets.closed();
  expect(lameduck.stats()).toEqual(baseline);
});
