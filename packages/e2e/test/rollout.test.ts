/** End to end behind a real HAProxy and a real nginx: rolling restarts of examples/express (and, behind HAProxy, examples/hono on Node, Bun and Deno, and examples/nestjs) with default options lose nothing. */
import type { Balancer } from '../src/balancer.js';
import { CHECKS, haproxyBalancer, haproxyVersion } from '../src/haproxy.js';
import { exampleTarget, textbookTarget, type Target } from '../src/instance.js';
import { nginxBalancer, nginxVersion } from '../src/nginx.js';
import { rollingRestart, type RolloutResult } from '../src/rollout.js';

const compared: RolloutResult[] = [];

beforeAll(async () => {
  // CI installs them (.ci/run); without them this check must fail, not pass unnoticed.
  if ((await haproxyVersion()) === undefined) throw new Error('HAProxy is not installed: apt-get install -y haproxy');
  if ((await nginxVersion()) === undefined) throw new Error('nginx is not installed: apt-get install -y nginx');
});

afterAll(() => {
  const rows = compared.map(
    (result) =>
      `${result.balancer.padEnd(28)} ${result.target.padEnd(24)} ${String(result.load.failed).padStart(4)} failed of ${result.load.sent}` +
      `  exits ${result.exits.join(',')}  lame duck ${result.lameDuck.join('/') || '-'} ms  ${JSON.stringify(result.balancerFailures)}`,
  );
  console.log(`Rolling restarts (the textbook is reported, not asserted):\n${rows.join('\n')}`);
});

const balancers: [string, (target: Target) => Promise<Balancer>][] = CHECKS.map(
  (check): [string, (target: Target) => Promise<Balancer>] => [
    `HAProxy, ${check.name} checks (inter ${check.inter} ms, fall ${check.fall}, rise ${check.rise})`,
    (target) => haproxyBalancer(check, target.checkPath, 3),
  ],
);

describe.each(balancers)('behind %s', (_, balancer) => {
  // hono-bun and hono-deno: examples/hono on Bun.serve and Deno.serve.
  test.each(['express', 'hono', 'nestjs', 'hono-bun', 'hono-deno'])(
    'every instance of examples/%s restarted in turn under keep-alive load: 0 failed, every exit 0',
    async (example) => {
      const target = exampleTarget(example);
      const result = await rollingRestart(target, () => balancer(target));
      compared.push(result);
      // The load ran across all three restarts.
      expect(result.load.sent).toBeGreaterThan(1_000);
      expect(result.load.failures).toEqual({});
      expect(result.load.ok).toBe(result.load.sent);
      expect(result.balancerFailures).toEqual({});
      expect(result.exits).toEqual([0, 0, 0]);
    },
    150_000,
  );

  test('the textbook server.close(), for comparison', async () => {
    const target = textbookTarget();
    const result = await rollingRestart(target, () => balancer(target));
    compared.push(result);
    expect(result.load.sent).toBeGreaterThan(100);
    expect(result.exits).toHaveLength(3);
  }, 150_000);
});

describe('behind nginx, each instance taken out of the upstream and reloaded before SIGTERM', () => {
  test('examples/express with default options: nginx never gets an error from an instance; every exit 0', async () => {
    const result = await rollingRestart(exampleTarget('express'), () => nginxBalancer(3));
    compared.push(result);
    expect(result.load.sent).toBeGreaterThan(1_000);
    // No 502/503 and no retried request in nginx's log: the instances never failed a request.
    expect(result.balancerFailures).toEqual({});
    expect(result.exits).toEqual([0, 0, 0]);
    // What clients may still see is nginx's own doing: a reload closes its old workers' idle client
    // connections, racing a keep-alive client's next request (reported, and retried by browsers).
    expect(Object.keys(result.load.failures).filter((cause) => cause !== 'ECONNRESET on a reused connection')).toEqual(
      [],
    );
  }, 150_000);

  test('the same with the textbook server.close(), for comparison', async () => {
    const result = await rollingRestart(textbookTarget(), () => nginxBalancer(3));
    compared.push(result);
    expect(result.exits).toHaveLength(3);
  }, 150_000);
});
