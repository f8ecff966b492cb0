/** Raw idle keep-alive connections for the idle section (the classified GET and the load are in @lameduck/test-utils). */
import net from 'node:net';
import { hrNow } from '@lameduck/test-utils';

/** Raw keep-alive connections that each completed one `GET /` and now sit idle. */
export interface IdleConnections {
  readonly count: number;
  /** Connections that failed to open or to get their response (retried; see `openIdle`). */
  readonly failures: number;
  /** How the server ended them so far: with a FIN (`ended`) or a reset (`reset`); `open` are left. */
  tally(): { open: number; ended: number; reset: number };
  /** Resolves when every connection has closed, with the time of the last close (hrtime ms). */
  allClosed(): Promise<number>;
  destroy(): void;
}

/** Opens one connection and does one request; resolves once the whole response has arrived. */
function openOne(port: number, onEnd: (how: 'ended' | 'reset') => void): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let received = Buffer.alloc(0);
    let answered = false;
    socket.once('connect', () => socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
    socket.on('data', (chunk: Buffer) => {
      if (answered) return;
      received = Buffer.concat([received, chunk]);
      const headerEnd = received.indexOf('\r\n\r\n');
      if (headerEnd === -1) return;
      const length = /content-length:\s*(\d+)/i.exec(received.subarray(0, headerEnd).toString('latin1'));
      if (length === null || received.length < headerEnd + 4 + Number(length[1])) return;
      answered = true;
      resolve(socket);
    });
    let reset = false;
    socket.on('error', (error) => {
      reset = true;
      if (!answered) reject(error);
    });
    socket.once('close', () => {
      if (!answered) reject(new Error('closed before the response'));
      else onEnd(reset ? 'reset' : 'ended');
    });
  });
}

/**
 * Opens `count` idle keep-alive connections, `batch` at a time (a burst of thousands of SYNs would
 * overflow the listen backlog); a connection that fails is retried, up to `count` retries in all.
 */
export async function openIdle(port: number, count: number, batch: number): Promise<IdleConnections> {
  const sockets: net.Socket[] = [];
  let failures = 0;
  let ended = 0;
  let reset = 0;
  let lastClose = 0;
  let onAllClosed: ((at: number) => void) | undefined;
  const onEnd = (how: 'ended' | 'reset'): void => {
    if (how === 'ended') ended++;
    else reset++;
    lastClose = hrNow();
    if (ended + reset === sockets.length) onAllClosed?.(lastClose);
  };
  while (sockets.length < count) {
    const size = Math.min(batch, count - sockets.length);
    const settled = await Promise.allSettled(Array.from({ length: size }, () => openOne(port, onEnd)));
    for (const result of settled) {
      if (result.status === 'fulfilled') sockets.push(result.value);
      else failures++;
    }
    if (failures > count) throw new Error(`could not open ${count} connections: ${failures} failures`);
  }
  return {
    count: sockets.length,
    failures,
    tally: () => ({ open: sockets.length - ended - reset, ended, reset }),
    allClosed() {
      if (ended + reset === sockets.length) return Promise.resolve(lastClose);
      return new Promise((resolve) => (onAllClosed = resolve));
    },
    destroy() {
      for (const socket of sockets) socket.destroy();
    },
  };
}
