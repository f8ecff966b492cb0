// Runs Jest and the consumer apps once per Node binary in LAMEDUCK_NODES, naming the Node of every failure.
//
// `node scripts/test-on-nodes.mjs`            Jest (packages/e2e and Bun/Deno servers on the newest Node only), the
//                                             Nest 12 matrix (ES modules), the drain suites on the public-API path,
//                                             then the consumer apps (their type-checks on the newest Node only), on
//                                             each Node; on the newest, the examples' drain scenarios under Bun and
//                                             Deno (LAMEDUCK_BUN, LAMEDUCK_DENO: required).
// `node scripts/test-on-nodes.mjs <jest args>` only `jest <jest args>` on each Node, e2e included: to run chunks.
//
// LAMEDUCK_NODES: paths of `node` binaries separated by `:` (.ci/run installs Node 22, 24 and 26 and sets it).
// Unset or empty: the Node running this script, alone. Each run puts its Node's directory first on PATH,
// so Jest, its workers and every child process a test starts (they use process.execPath) run on it.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const WORKSPACE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const JEST = path.join(WORKSPACE, 'node_modules', 'jest', 'bin', 'jest.js');
const NEST_12 = 'packages/conformance/jest.nest-12.config.mjs';
/** Jest runs ES module tests only with Node's VM modules, which the Nest 12 project needs (and nothing else). */
const VM_MODULES = ['--experimental-vm-modules'];

/** One Node binary: its path and `process.version`. */
function inspect(binary) {
  const received = JSON.stringify(binary);
  if (!path.isAbsolute(binary) || !fs.existsSync(binary)) {
    fail(`LAMEDUCK_NODES: ${received} is not an absolute path to an existing node binary`);
  }
  try {
    const version = execFileSync(binary, ['-p', 'process.version'], { encoding: 'utf8' }).trim();
    if (!/^v\d+\.\d+\.\d+$/.test(version)) throw new Error(`printed ${JSON.stringify(version)}`);
    return { binary, version };
  } catch (error) {
    fail(`LAMEDUCK_NODES: ${received} does not run as node (${error.message.split('\n')[0]})`);
  }
}

function fail(message) {
  process.stderr.write(`LAMEDUCK_INVALID_ENV: ${message}\n`);
  process.exit(2);
}

const major = (version) => Number(/^v(\d+)/.exec(version)[1]);
const newer = (a, b) => {
  const [x, y] = [a, b].map((version) => version.slice(1).split('.').map(Number));
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
};

const listed = (process.env.LAMEDUCK_NODES ?? '').split(':').filter(Boolean);
const nodes = (listed.length > 0 ? listed : [process.execPath]).map(inspect);
const newest = [...nodes].sort((a, b) => newer(b.version, a.version))[0];
const jestArgs = process.argv.slice(2);

/**
 * Test files that run once, on the newest Node: the end-to-end tests (the Socket.IO rolling restart behind HAProxy
 * among them), and those whose servers run on Bun or Deno (the Node that runs Jest does not change what they prove).
 */
const NEWEST_ONLY = ['/packages/e2e/', '/fetch-servers\\.test\\.ts$', '/socket-io-rolling\\.test\\.ts$'];

/**
 * The drain, long-lived and conformance suites on lameduck's public-API path (forced as on a runtime
 * without Node's private HTTP state): the framework kinds at their current versions, HTTP/2, Nest on
 * Express. The examples run on that path under Bun and Deno (below).
 */
const PUBLIC_PATH_SUITES = [
  'packages/core/test/(drain|long-lived)\\.test\\.ts$',
  'packages/conformance/test/(node-http|express|koa|fastify|hono|fastify-http2|hono-http2|tracked-state|nestjs-express)\\.test\\.ts$',
];

/** The runtimes the examples' drain scenarios also run on (Jest on Node, the examples under them), from .ci/run. */
const RUNTIMES = [
  { name: 'bun', variable: 'LAMEDUCK_BUN' },
  { name: 'deno', variable: 'LAMEDUCK_DENO' },
];

/** The steps for one Node: label, node flags, jest arguments, and environment added. */
function steps(node) {
  if (jestArgs.length > 0) {
    return [{ label: 'jest', flags: jestArgs.some((arg) => arg.endsWith(NEST_12)) ? VM_MODULES : [], args: jestArgs }];
  }
  const once = node === newest;
  return [
    {
      label: once ? 'jest' : 'jest (packages/e2e and the Bun and Deno servers run on the newest Node only)',
      flags: [],
      // Given here, the patterns replace the config's: the Nest 12 kinds (their own project) are named again.
      args: once
        ? []
        : ['--testPathIgnorePatterns', '/node_modules/', '/packages/conformance/test/nestjs-12-', ...NEWEST_ONLY],
    },
    { label: 'jest (the Nest 12 matrix, ES modules)', flags: VM_MODULES, args: ['--config', NEST_12] },
    {
      label: 'jest, public-API path (LAMEDUCK_WITHOUT_NODE_INTERNALS=1): drain, long-lived, conformance',
      args: PUBLIC_PATH_SUITES,
      env: { LAMEDUCK_WITHOUT_NODE_INTERNALS: '1' },
    },
    ...(once
      ? RUNTIMES.map(({ name, variable }) => ({
          label: `examples' drain scenarios on ${name} (${variable}=${process.env[variable] ?? 'unset'})`,
          args: ['packages/conformance/test/examples\\.test\\.ts$'],
          env: { LAMEDUCK_RUNTIME: name },
        }))
      : []),
    {
      label: once ? 'consumer' : 'consumer apps (the type-checks run on the newest Node only)',
      flags: [],
      args: [
        '--config',
        'packages/consumer/jest.config.ts',
        ...(once ? [] : ['--testPathIgnorePatterns', '/types\\.test\\.ts$']),
      ],
    },
  ];
}

function banner(text) {
  process.stdout.write(`\n${'='.repeat(100)}\n== ${text}\n${'='.repeat(100)}\n`);
}

const results = [];
for (const node of nodes) {
  for (const step of steps(node)) {
    const name = `Node ${node.version}: ${step.label}`;
    banner(`${name}  (${node.binary})`);
    const started = Date.now();
    const env = {
      ...process.env,
      ...step.env,
      PATH: `${path.dirname(node.binary)}${path.delimiter}${process.env.PATH ?? ''}`,
    };
    const run = spawnSync(node.binary, [...(step.flags ?? []), JEST, ...step.args], {
      cwd: WORKSPACE,
      env,
      stdio: 'inherit',
    });
    const seconds = Math.round((Date.now() - started) / 1000);
    const ok = run.status === 0;
    results.push({ name, ok, seconds });
    banner(`${ok ? 'passed' : 'FAILED'}: ${name} (${seconds} s)`);
  }
}

banner(`Summary, ${nodes.length === 1 ? 'one Node' : `Node ${nodes.map((node) => major(node.version)).join(', ')}`}`);
for (const { name, ok, seconds } of results)
  process.stdout.write(`${ok ? 'passed' : 'FAILED'}  ${name} (${seconds} s)\n`);
const failed = results.filter((result) => !result.ok);
if (failed.length > 0) {
  process.stdout.write(`\nFAILED on ${failed.map((result) => result.name).join('; ')}\n`);
  process.exit(1);
}
