/** The shutdown peers, each set up on a variant's own http.Server as its README shows (10 s timeouts). */
import type { Server } from 'node:http';
import { createTerminus } from '@godaddy/terminus';
import closeWithGrace from 'close-with-grace';
import gracefulShutdown from 'http-graceful-shutdown';
import { createHttpTerminator } from 'http-terminator';
import type { CpuVariant } from '../protocol.js';

export type Peer = Extract<CpuVariant, 'terminus' | 'hgs' | 'terminator' | 'close-with-grace'>;

const PEERS: readonly CpuVariant[] = ['terminus', 'hgs', 'terminator', 'close-with-grace'];

export const isPeer = (variant: CpuVariant): variant is Peer => PEERS.includes(variant);

/** Sets `peer` up on `server`; `close` is the application's own close, for close-with-grace. */
export function applyPeer(peer: Peer, server: Server, close: () => Promise<unknown>): void {
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
        await close();
      });
      return;
  }
}
