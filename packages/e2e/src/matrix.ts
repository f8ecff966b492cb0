/** `pnpm e2e`: the full matrix behind a real HAProxy (every example, the textbook, the peers), into BENCHMARKS.md. */
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { Balancer } from './balancer.js';
import { CHECKS, haproxyBalancer, haproxyVersion } from './haproxy.js';
import { exampleTarget, ROOT, textbookTarget, type Target } from './instance.js';
import { nginxBalancer, nginxVersion } from './nginx.js';
import { rollingRestart, type RolloutResult } from './rollout.js';

const BENCH_SERVERS = join(ROOT, 'bench', 'src', 'servers');
/** The section's bounds in BENCHMARKS.md; `pnpm bench` keeps what is between them. */
export const BEGIN = '<!-- e2e:begin (pnpm e2e writes this section) -->';
export const END = '<!-- e2e:end -->';

/** A peer's benchmark server (bench/src/servers), with the route a balancer can check on it. */
function benchTarget(name: string, file: string, checkPath: string): Target {
  return { name, args: ['--import', 'tsx', join(BENCH_SERVERS, `${file}.ts`)], cwd: ROOT, checkPath };
}

const TARGETS: Target[] = [
  exampleTarget('node-http'),
  exampleTarget('express'),
  exampleTarget('fastify'),
  exampleTarget('koa'),
  exampleTarget('hono'),
  exampleTarget('nestjs'),
  exampleTarget('nestjs-fastify'),
  { ...exampleTarget('express', { READINESS_DELAY_MS: '0' }), name: 'lameduck (express), readinessDelay 0' },
  { ...exampleTarget('express', { READINESS_DELAY_MS: '5000' }), name: 'lameduck (express), readinessDelay 5000' },
  textbookTarget(),
  benchTarget('textbook (express)', 'express-textbook', '/'),
  benchTarget('@godaddy/terminus (express)', 'express-terminus', '/healthcheck'),
  benchTarget('http-graceful-shutdown (express)', 'express-hgs', '/'),
  benchTarget('http-terminator (express)', 'express-terminator', '/'),
  benchTarget('close-with-grace (fastify)', 'fastify-close-with-grace', '/'),
];

function causes(counts: Record<string, number>): string {
  const entries = Object.entries(counts);
  return entries.length === 0 ? '–' : entries.map(([cause, count]) => `${count}× ${cause}`).join(', ');
}

function row(result: RolloutResult): string {
  const { load } = result;
  const lameDuck = result.lameDuck.length === 0 ? '–' : result.lameDuck.map((ms) => (ms / 1000).toFixed(1)).join(' / ');
  const modes = [...new Set(result.modes)].join(', ') || '–';
  return `| ${result.target} | ${load.failed} of ${load.sent} | ${causes(load.failures)} | ${causes(result.balancerFailures)} | ${result.exits.join(', ')} | ${lameDuck} | ${modes} | ${result.seconds} |`;
}

/** The balancers of the matrix: HAProxy with each check setting, and nginx. */
const BALANCERS: { title: string; create: (target: Target) => Promise<Balancer> }[] = [
  ...CHECKS.map((check) => ({
    title: `HAProxy, \`inter ${check.inter}ms fall ${check.fall} rise ${check.rise}\` (${check.name} checks)`,
    create: (target: Target) => haproxyBalancer(check, target.checkPath, 3),
  })),
  { title: 'nginx: out of the upstream and reloaded, then SIGTERM', create: () => nginxBalancer(3) },
];

function section(title: string, results: RolloutResult[]): string {
  return [
    `#### ${title}`,
    '',
    '| Server | failed requests | clients saw | balancer logged (non-200) | exit codes | lame-duck phase (s) | why that long | run (s) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...results.map(row),
  ].join('\n');
}

async function main(): Promise<void> {
  const version = await haproxyVersion();
  const nginx = await nginxVersion();
  if (version === undefined || nginx === undefined) throw new Error('apt-get install -y haproxy nginx first');
  const only = process.argv[2];
  const blocks: string[] = [];
  const started = new Date();
  for (const balancer of BALANCERS) {
    const results: RolloutResult[] = [];
    for (const target of TARGETS.filter((candidate) => only === undefined || candidate.name.includes(only))) {
      process.stderr.write(`${balancer.title}: ${target.name}… `);
      const result = await rollingRestart(target, () => balancer.create(target));
      process.stderr.write(`${result.load.failed} failed of ${result.load.sent}, exits ${result.exits.join(',')}\n`);
      results.push(result);
    }
    blocks.push(section(balancer.title, results));
  }
  const markdown = [
    BEGIN,
    '## Rolling restarts behind a load balancer (`pnpm e2e`)',
    '',
    `${version.replace(/ - https?:\S+/, '')}, ${nginx}, ${os.cpus().length} cores, Node ${process.version}, ${started.toISOString().slice(0, 16)} UTC.`,
    'Three instances of each server behind one balancer, four keep-alive clients sending `GET /` through it (5 ms ' +
      'between requests), each instance replaced in turn as an orchestrator would: start the new one, route to it, ' +
      'SIGTERM the old one, wait for its exit and until the balancer no longer routes to it. Every server runs with its ' +
      'default options (the examples with no lameduck variable set) unless its name says otherwise.',
    '',
    '- HAProxy: one backend, `option httpchk GET <readiness route>` (`/` for servers without one), `http-reuse safe`, ' +
      "HAProxy's default `retries 3` for connection failures, no `retry-on`, no `option redispatch`. The replacement is " +
      'put in and waited for until UP; the old instance is taken out once HAProxy has marked it DOWN, so requests ' +
      'HAProxy sends it in between count. HAProxy logged: status and termination state (`SC--`: the server refused ' +
      'the connection; `----` with 503: the server answered 503 itself; `SH--`/`SD--`: it closed mid-response).',
    '- nginx (open source: no active checks, so lameduck sees no prober): `upstream` with `keepalive 16`, HTTP/1.1 ' +
      'without `Connection`, default `proxy_next_upstream error timeout`. The replacement is added and the old ' +
      'instance removed in one `nginx -s reload`, and the old one gets SIGTERM once the new workers run. nginx logged: ' +
      '`$status $upstream_status` of every request that was not a plain `200 200` (`200 502, 200`: a failure nginx hid ' +
      'by retrying on another server).',
    '',
    '"Clients saw" counts failures by HTTP status or socket error. The CI check (`packages/e2e/test/rollout.test.ts`) ' +
      'runs the lameduck (express) and textbook rows of every table.',
    '',
    ...blocks.flatMap((block) => [block, '']),
    END,
  ].join('\n');
  const file = only === undefined ? join(ROOT, 'BENCHMARKS.md') : join(os.tmpdir(), 'BENCHMARKS.e2e.md');
  const existing = only === undefined ? readFileSync(file, 'utf8') : '';
  const begin = existing.indexOf(BEGIN);
  const end = existing.indexOf(END);
  const updated =
    begin !== -1 && end > begin
      ? `${existing.slice(0, begin)}${markdown}${existing.slice(end + END.length)}`
      : `${existing.trimEnd()}\n\n${markdown}\n`;
  writeFileSync(file, updated);
  process.stderr.write(`wrote ${file}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
