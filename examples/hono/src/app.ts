/** Example: the Hono app the Node, Bun and Deno servers share, with graceful shutdown by @lameduck/hono (the examples' contract). */
import { Readable } from 'node:stream';
import { EVENT_HEADERS, eventStream, METRICS_PATH, settings, slow } from '@lameduck/example-contract';
import { graceful, prometheusMetrics, PROMETHEUS_CONTENT_TYPE, type Env } from '@lameduck/hono';
import { Hono } from 'hono';
import type { UpgradeWebSocket, WSContext } from 'hono/ws';

/** The middleware (its manager is `drain.lameduck`) and the app, its `/ws` route served by the runtime's `upgradeWebSocket`. */
export function createApp(upgradeWebSocket: UpgradeWebSocket): { drain: ReturnType<typeof graceful>; app: Hono<Env> } {
  const drain = graceful(settings.lameduck);
  const app = new Hono<Env>();
  app.use(drain);
  app.get('/', (c) => c.text('hello from hono\n'));
  app.get('/slow', async (c) => {
    // Handlers reach the manager as c.get('lameduck'), without importing the middleware.
    return c.text(await slow(Number(c.req.query('ms')) || 0, c.get('lameduck').deadlineSignal));
  });
  // In keepServing: still answered after the listener has closed.
  app.get(METRICS_PATH, (c) =>
    c.body(prometheusMetrics(c.get('lameduck')), 200, { 'content-type': PROMETHEUS_CONTENT_TYPE }),
  );
  app.get('/events', (c) =>
    c.body(Readable.toWeb(eventStream(c.get('lameduck').drainSignal)) as ReadableStream, 200, EVENT_HEADERS),
  );

  // The open WebSockets: a closer says 1001 to each when the drain starts.
  const sockets = new Set<WSContext>();
  app.get(
    '/ws',
    upgradeWebSocket(() => ({
      onOpen: (_event, socket) => {
        sockets.add(socket);
        socket.send('hello from hono');
      },
      onClose: (_event, socket) => void sockets.delete(socket),
    })),
  );
  drain.lameduck.addCloser(() => {
    for (const socket of sockets) socket.close(1001, 'server shutting down');
  });
  return { drain, app };
}
