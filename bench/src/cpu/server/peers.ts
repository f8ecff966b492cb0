/**
 * The shutdown peers, each set up as its README shows (10 s timeouts) on its own http.Server around the bare
 * app's request handler: they touch only the server, so they need no app of their own.
 */
import http, { type RequestListener, type Server } from 'node:http';
import { createTerminus } from '@godaddy/terminus';
import closeWithGrace from 'close-with-grace';
import gracefulShutdown from 'http-graceful-shutdown';
import { createHttpTerminator } from 'http-terminator';
import type { Peer } from '../protocol.js';

/** A new server around `handler`, with `peer` set up on it. */
export function peerServer(peer: Peer, handler: RequestListener): Server {
  const server = http.createServer(handler);
  applyPeer(peer, server);
  return server;
}

function applyPeer(peer: Peer, server: Server): void {
  switch (peer) {
    case 'terminus':
      createTerminus(server, {
        signals: ['SIGTERM', 'SIGINT'],
        timeout: 10_000,
        healthChecks: { '/healthcheck': async () => {} },
        onSignal: async () => {},
      });
      return;
    case 'hgs':
      gracefulShutdown(server, { signals: 'SIGINT SIGTERM', timeout: 10_000, forceExit: true });
      return;
    case 'terminator': {
      const terminator = createHttpTerminator({ server, gracefulTerminationTimeout: 10_000 });
      process.on('SIGTERM', async () => {
        await terminator.terminate();
        process.exit(0);
      });
      return;
    }
    case 'close-with-grace':
      closeWithGrace({ delay: 10_000 }, async () => {
        await new Promise((resolve) => server.close(resolve));
      });
      return;
  }
}
