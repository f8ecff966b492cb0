/** `pnpm e2e`: the full matrix behind a real HAProxy (every example, the textbook, the peers), into BENCHMARKS.md. */
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { CHECKS, haproxyVersion, type CheckSettings } from './haproxy.js';
import { exampleTarget, textbookTarget, type Target } from './instance.js';
import { rollingRestart, type RolloutResult } from './rollout.js';

const ROOT = join(__dirname, '..', '..', '..');
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
  return `| ${result.target} | ${load.failed} of ${load.sent} | ${causes(load.failures)} | ${causes(result.haproxy)} | ${result.exits.join(', ')} | ${lameDuck} | ${modes} | ${result.seconds} |`;
}

function section(check: CheckSettings, results: RolloutResult[]): string {
  return [
    `#### \`inter ${check.inter}ms fall ${check.fall} rise ${check.rise}\` (${check.name})`,
    '',
    '| Server | failed requests | clients saw | HAProxy logged (non-200) | exit codes | lame-duck phase (s) | why that long | run (s) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...results.map(row),
  ].join('\n');
}

async function main(): Promise<void> {
  const version = await haproxyVersion();
  if (version === undefined) throw new Error('HAProxy is not installed: apt-get install -y haproxy');
  const only = process.argv[2];
  const blocks: string[] = [];
  const started = new Date();
  for (const check of CHECKS) {
    const results: RolloutResult[] = [];
    for (const target of TARGETS.filter((candidate) => only === undefined || candidate.name.includes(only))) {
      process.stderr.write(`${check.name}: ${target.name}… `);
      const result = await rollingRestart(target, check);
      process.stderr.write(`${result.load.failed} failed of ${result.load.sent}, exits ${result.exits.join(',')}\n`);
      results.push(result);
    }
    blocks.push(section(check, results));
  }
  const markdown = [
    BEGIN,
    '## Rolling restarts behind HAProxy (`pnpm e2e`)',
    '',
    `${version.replace(/ - https?:\S+/, '')}, ${os.cpus().length} cores, Node ${process.version}, ${started.toISOString().slice(0, 16)} UTC.`,
    'Three instances of each server behind one HAProxy backend (`option httpchk GET <readiness route>`, `http-reuse safe`, ' +
      "HAProxy's default `retries 3` for connection failures, no `retry-on`, no `option redispatch`), four keep-alive " +
      'clients sending `GET /` through it (5 ms between requests), each instance replaced in turn: start the new one, ' +
      'wait until HAProxy routes to it, SIGTERM the old one, wait for its exit and for HAProxy to mark it down. Every ' +
      'server runs with its default options (the examples with no lameduck variable set) unless its name says otherwise; ' +
      'servers without a readiness route are checked on `/`. "Clients saw" counts failures by HTTP status or socket ' +
      'error; "HAProxy logged" by status and termination state (`SC--`: the server refused the connection; `----` with ' +
      '503: the server answered 503 itself; `SH--`/`SD--`: the server closed mid-response). The CI check ' +
      '(`packages/e2e/test/haproxy.test.ts`) runs the lameduck Express and textbook rows of both tables.',
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
