/** Section `nodes`: CPU per request and idle exit, lameduck against bare, measured on each Node binary in turn. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { NodesChildResult, NodesChildSettings } from './nodes-child.js';
import { fixed, int, table, wrap } from './report/markdown.js';
import type { Finding, Progress, SectionReport } from './report/section.js';
import { FRAMEWORK_NAMES } from './variants.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'nodes-child.ts');

export interface NodesSettings extends NodesChildSettings {
  /** Paths of the node binaries to compare (`--nodes=a:b` or LAMEDUCK_NODES); none: this Node alone. */
  nodes: string[];
}

/** Runs nodes-child.ts under `node` (with this process's loader flags) and resolves with its result. */
function measureOn(node: string, settings: NodesChildSettings, progress: Progress): Promise<NodesChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(node, [...process.execArgv, CHILD, JSON.stringify(settings)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let last = '';
    readline.createInterface({ input: child.stdout }).on('line', (line) => (last = line));
    readline.createInterface({ input: child.stderr }).on('line', (line) => progress(`nodes: ${line}`));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve(JSON.parse(last) as NodesChildResult);
      else reject(new Error(`nodes: ${node} exited ${code ?? signal} before reporting`));
    });
  });
}

const ms = (value: number | null): string => (value === null ? 'hung' : `${int(value)} ms`);

/** Runs the section: one child per Node, one after another, each measuring everything on its own Node. */
export async function runNodes(settings: NodesSettings, progress: Progress): Promise<SectionReport> {
  const nodes = settings.nodes.length > 0 ? settings.nodes : [process.execPath];
  const results: NodesChildResult[] = [];
  for (const node of nodes) {
    progress(`nodes: ${node}`);
    results.push(await measureOn(node, settings, progress));
  }
  const cpuRows = results.flatMap((result) =>
    result.cpu.map(({ framework, reference, ratio }) => [
      result.node,
      FRAMEWORK_NAMES[framework],
      reference === 'bare' ? 'bare' : 'bare + a no-op middleware',
      `**${fixed(ratio.median, 3)}** (${fixed(ratio.low, 3)}–${fixed(ratio.high, 3)})`,
    ]),
  );
  const idleRows = results.flatMap((result) =>
    result.idle.map((row) => [
      result.node,
      FRAMEWORK_NAMES[row.framework],
      ms(row.bareMs),
      ms(row.lameduckMs),
      row.lameduckExitCalledMs === null ? '—' : ms(row.lameduckExitCalledMs),
    ]),
  );
  const findings: Finding[] = [];
  const markdown = [
    wrap(
      'The same two measurements as sections 1 and 3, smaller, repeated with every server on each Node ' +
        `(${results.map((result) => result.node).join(', ')}): lameduck is held against bare measured in the ` +
        'same run on the same Node, never against another Node, since Node itself changes between majors (a bare ' +
        "server's CPU per request and memory differ). CPU: lameduck's CPU per request over its reference's " +
        `(median, 95% CI; ${settings.cpu.processes} process(es) × ${settings.cpu.rounds} rounds per framework). ` +
        `Idle: SIGTERM to exit with ${int(settings.idle.warmup + settings.idle.connections)} idle keep-alive ` +
        'connections, one run each, bare (killed by the signal: the floor) and lameduck.',
    ),
    table(
      [
        { header: 'Node' },
        { header: 'Framework' },
        { header: 'Reference' },
        { header: 'lameduck CPU / reference (95% CI)', align: 'right' },
      ],
      cpuRows,
    ),
    table(
      [
        { header: 'Node' },
        { header: 'Framework' },
        { header: 'bare: SIGTERM → exit', align: 'right' },
        { header: 'lameduck: SIGTERM → exit', align: 'right' },
        { header: 'lameduck: SIGTERM → exit begins', align: 'right' },
      ],
      idleRows,
    ),
  ].join('\n\n');
  const ratios = results.flatMap((result) => result.cpu.map((row) => row.ratio.median));
  return {
    title: `Node majors: CPU per request and idle exit on ${results.map((result) => result.node).join(', ')}`,
    headline:
      `on ${results.map((result) => result.node).join(', ')} lameduck's CPU per request was ` +
      `${fixed(Math.min(...ratios), 3)}–${fixed(Math.max(...ratios), 3)} × its reference's in the same run`,
    markdown,
    findings,
  };
}
