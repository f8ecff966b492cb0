/** The examples' observability contract: /startupz, /readyz?verbose, and /metrics kept reachable during the drain. */
import http from 'node:http';
import { join } from 'node:path';
import { exampleCommand, request, spawnChild, type Child, type Line } from '@lameduck/test-utils';

const ROOT = join(__dirname, '..', '..', '..');
// idleGrace far beyond the test, so that the scraper's kept-alive socket cannot be closed as idle first.
const ENV = {
  PORT: '0',
  HOST: '127.0.0.1',
  READINESS_DELAY_MS: '0',
  SHUTDOWN_TIMEOUT_MS: '20000',
  IDLE_GRACE_MS: '60000',
};
const PROMETHEUS = 'text/plain; version=0.0.4; charset=utf-8';

const children: Child[] = [];
const agents: http.Agent[] = [];

afterEach(async () => {
  for (const agent of agents.splice(0)) agent.destroy();
  for (const child of children.splice(0)) {
    const { exitCode, signalCode } = child.process;
    if (exitCode === null && signalCode === null) child.kill('SIGKILL');
    await child.exited;
  }
});

/** The example `name` as its package.json script runs it: one `node …` command, from its folder. */
function startExample(name: string): Child {
  const { cwd, args } = exampleCommand(ROOT, name);
  const child = spawnChild(args, { cwd, env: ENV });
  children.push(child);
  return child;
}

function keepAliveAgent(): http.Agent {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  agents.push(agent);
  return agent;
}

/** A GET with `Expect: 100-continue`: `read` resolves once the server has the request in flight. */
function tracked(port: number, path: string): { read: Promise<void>; reply: Promise<number> } {
  let read!: () => void;
  const continued = new Promise<void>((resolve) => (read = resolve));
  const reply = new Promise<number>((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port, path, agent: false, headers: { expect: '100-continue' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('continue', read);
    req.on('error', reject);
  });
  return { read: continued, reply };
}

describe.each(['node-http', 'express', 'fastify', 'koa', 'hono', 'nestjs', 'nestjs-fastify'])(
  'examples/%s: observability',
  (name) => {
    test('/startupz, /readyz?verbose, and /metrics scraped on a kept-alive connection after the listener closed', async () => {
      const example = startExample(name);
      const port = (await example.event((event) => event.event === 'listening')).port as number;
      const once = (path: string) => request(port, { path, agent: false });

      expect(JSON.parse((await once('/startupz')).body)).toEqual({ status: 'started' });
      const verbose = await once('/readyz?verbose');
      expect(verbose).toMatchObject({ status: 200, body: '[+]startup ok\n[+]shutdown ok\nreadiness check passed\n' });
      expect(verbose.headers['content-type']).toMatch(/^text\/plain/);

      const scraper = keepAliveAgent();
      const first = await request(port, { path: '/metrics', agent: scraper });
      expect(first.status).toBe(200);
      expect(first.headers['content-type']).toBe(PROMETHEUS);
      expect(first.body).toContain('lameduck_state{state="serving"} 1\n');
      const other = keepAliveAgent();
      expect((await request(port, { path: '/', agent: other })).status).toBe(200);

      const slow = tracked(port, '/slow?ms=2000');
      await slow.read;
      example.process.kill('SIGTERM');
      await example.log((line: Line) => line.msg === 'listener closed: draining');

      // With time left in the drain, a request on a kept connection is served; its response closes it.
      const late = await request(port, { path: '/', agent: other });
      expect(late.status).toBe(200);
      expect(late.headers.connection).toBe('close');
      const scrape = await request(port, { path: '/metrics', agent: scraper });
      expect(scrape.socket).toBe(first.socket);
      expect(scrape.status).toBe(200);
      expect(scrape.headers.connection).toBe('close');
      expect(scrape.body).toContain('lameduck_state{state="draining"} 1\n');
      expect(scrape.body).toContain('lameduck_rejected_requests_total 0\n');
      expect(scrape.body).toContain('lameduck_forced_requests_total 0\n');
      // The slow request and this scrape.
      expect(scrape.body).toContain('lameduck_inflight_requests 2\n');

      expect(await slow.reply).toBe(200);
      expect(await example.exited).toEqual({ code: 0, signal: null });
    });
  },
);
