/** Keep-alive load through the balancer: a few clients in a loop, bounded in count, counting every failure. */
import http from 'node:http';

/** What the clients saw. */
export interface LoadReport {
  sent: number;
  ok: number;
  /** Failed requests by cause: an HTTP status (`503`) or a socket error code (`ECONNRESET`, `… on a reused connection`). */
  failures: Record<string, number>;
  failed: number;
}

/** Running load; `stop()` lets the requests in flight finish and resolves with the report. */
export interface Load {
  stop(): Promise<LoadReport>;
}

/**
 * Starts `clients` keep-alive clients on 127.0.0.1:`port`, each sending `GET /` again `pause` ms after
 * its previous answer, until stopped or `limit` requests were sent.
 */
export function startLoad(port: number, { clients = 4, pause = 5, limit = 100_000 } = {}): Load {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const report: LoadReport = { sent: 0, ok: 0, failures: {}, failed: 0 };
  let stopping = false;
  const fail = (cause: string): void => {
    report.failed++;
    report.failures[cause] = (report.failures[cause] ?? 0) + 1;
  };
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      report.sent++;
      const req = http.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) report.ok++;
          else fail(String(res.statusCode));
          resolve();
        });
        res.on('error', (error: NodeJS.ErrnoException) => {
          fail(error.code ?? error.message);
          resolve();
        });
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        // A kept-alive connection the balancer closed as this request went out: the race browsers
        // retry on their own (idempotent requests, RFC 9112 §9.3.1); told apart from other failures.
        const cause = error.code ?? error.message;
        fail(req.reusedSocket && cause === 'ECONNRESET' ? 'ECONNRESET on a reused connection' : cause);
        resolve();
      });
    });
  const client = async (): Promise<void> => {
    while (!stopping && report.sent < limit) {
      await one();
      // A pause between requests, so the load leaves CPU to HAProxy and the servers on a small machine.
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  };
  const running = Promise.all(Array.from({ length: clients }, client));
  return {
    async stop() {
      stopping = true;
      await running;
      agent.destroy();
      return report;
    },
  };
}
