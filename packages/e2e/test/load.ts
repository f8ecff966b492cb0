/** Keep-alive load for the restart tests: N clients, each on its own kept-alive socket, counting every failure. */
import http from 'node:http';

/** What the clients saw. `failures` counts by kind: `status 503`, `ECONNRESET`, `ECONNREFUSED`… */
export interface LoadResult {
  sent: number;
  ok: number;
  failed: number;
  failures: Record<string, number>;
  /** Why it ended: `stopped`, or a bound (`max requests`, `max duration`). */
  ended: string;
}

export interface LoadOptions {
  clients?: number;
  /** Bound on requests, all clients together. */
  maxRequests?: number;
  /** Bound on time, in ms. */
  maxDuration?: number;
  /** A request unanswered this long is abandoned and counted as `timeout` (a connection a dead worker never took). */
  requestTimeout?: number;
}

export interface Load {
  /** Resolves once `count` more requests have succeeded than when it was called. */
  succeeded(count: number): Promise<void>;
  /** Stops sending; resolves once every client's last request has finished. */
  stop(): Promise<LoadResult>;
}

/** Starts `clients` keep-alive clients sending `GET /` to 127.0.0.1:`port` in a loop. */
export function startLoad(port: number, options: LoadOptions = {}): Load {
  const { clients = 16, maxRequests = 200_000, maxDuration = 60_000, requestTimeout = 30_000 } = options;
  const result: LoadResult = { sent: 0, ok: 0, failed: 0, failures: {}, ended: 'stopped' };
  let running = true;
  const waiters: { at: number; resolve: () => void }[] = [];
  const bound = setTimeout(() => end('max duration'), maxDuration).unref();
  function end(why: string): void {
    if (!running) return;
    running = false;
    result.ended = why;
  }
  function fail(kind: string): void {
    result.failed++;
    result.failures[kind] = (result.failures[kind] ?? 0) + 1;
  }
  function succeed(): void {
    result.ok++;
    for (const waiter of [...waiters]) {
      if (result.ok >= waiter.at) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  }

  function once(agent: http.Agent): Promise<void> {
    result.sent++;
    if (result.sent >= maxRequests) end('max requests');
    return new Promise((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) succeed();
          else fail(`status ${res.statusCode}`);
          resolve();
        });
        res.on('error', (error: NodeJS.ErrnoException) => {
          fail(error.code ?? error.message);
          resolve();
        });
      });
      req.setTimeout(requestTimeout, () => req.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
      req.on('error', (error: NodeJS.ErrnoException) => {
        fail(error.code ?? error.message);
        resolve();
      });
    });
  }

  async function client(): Promise<void> {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      while (running) await once(agent);
    } finally {
      agent.destroy();
    }
  }
  const done = Promise.all(Array.from({ length: clients }, client));

  return {
    succeeded(count) {
      const at = result.ok + count;
      return new Promise<void>((resolve, reject) => {
        waiters.push({ at, resolve });
        void done.then(() => reject(new Error(`load ended (${result.ended}) before ${count} more requests succeeded`)));
      });
    },
    async stop() {
      end('stopped');
      await done;
      clearTimeout(bound);
      return result;
    },
  };
}
