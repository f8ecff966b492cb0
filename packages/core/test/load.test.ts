/** Keep-alive load across a real SIGTERM: every request the server read gets a complete response. */
import http from 'node:http';
import { deferred, ports, request, spawnFixture } from './helpers.js';

const CLIENTS = 32;
const MAX_REQUESTS_PER_CLIENT = 2_000;
const SIGNAL_AFTER = 1_000;

interface Outcomes {
  ok: number;
  rejected: number;
  refused: number;
  /** Resets on a reused keep-alive socket: a socket the server closed under a request. Must be zero. */
  resetReused: number;
  /** Resets on a fresh connection: queued in the kernel backlog when the listener closed, never accepted. */
  resetFresh: number;
  other: string[];
}

// readinessDelay 0 is the regression test for the same-tick race: with Node's own close(), which
// destroys idle keep-alive sockets at once, it reset dozens of reused sockets in every run.
test.each([300, 0])(
  'keep-alive load across SIGTERM (readinessDelay %i): zero resets on requests the server read',
  async (readinessDelay) => {
    const child = spawnFixture('server', {
      LAMEDUCK_OPTIONS: JSON.stringify({ readinessDelay, timeout: 10_000, cleanupReserve: 1_000 }),
      QUIET_REQUESTS: '1',
    });
    const [port] = await ports(child);
    const outcomes: Outcomes = { ok: 0, rejected: 0, refused: 0, resetReused: 0, resetFresh: 0, other: [] };
    const enough = deferred();
    let exited = false;
    void child.exited.then(() => (exited = true));

    async function client(): Promise<void> {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      try {
        for (let sent = 0; sent < MAX_REQUESTS_PER_CLIENT && !exited; sent++) {
          try {
            const reply = await request(port!, { agent, path: sent % 5 === 0 ? '/slow?ms=5' : '/' });
            if (reply.status === 200) outcomes.ok++;
            else if (reply.status === 503) outcomes.rejected++;
            else outcomes.other.push(`status ${reply.status}`);
            if (outcomes.ok === SIGNAL_AFTER) enough.resolve();
          } catch (error) {
            const { code, reusedSocket } = error as NodeJS.ErrnoException & { reusedSocket?: boolean };
            if (code === 'ECONNREFUSED') {
              outcomes.refused++;
              return;
            }
            if (code === 'ECONNRESET' || code === 'EPIPE') {
              if (reusedSocket) outcomes.resetReused++;
              else outcomes.resetFresh++;
            } else {
              outcomes.other.push(String(code));
            }
          }
        }
      } finally {
        agent.destroy();
      }
    }

    const clients = Promise.all(Array.from({ length: CLIENTS }, client));
    await enough.promise;
    child.kill('SIGTERM');
    const [{ code }] = await Promise.all([child.exited, clients]);

    const result = await child.event((line) => line.event === 'result');
    const requests = result.requests as { completed: number; rejected: number };
    // The guarantee: whatever the server read, the client got back whole.
    expect(outcomes.ok).toBe(result.served);
    expect(outcomes.rejected).toBe(requests.rejected);
    expect(outcomes.other).toEqual([]);
    expect(code).toBe(0);
    expect(result).toMatchObject({ graceful: true, forced: false });
    // No kept-alive socket was closed under a request (the same-tick race). Resets on fresh connections
    // can happen: with no load balancer moving these clients away, some reconnect into the kernel's
    // accept queue just as the listener closes, and the kernel resets what was never accepted. The
    // equalities above prove none of those requests was read.
    expect(outcomes.resetReused).toBe(0);
    expect(outcomes.ok).toBeGreaterThan(SIGNAL_AFTER);
  },
);
