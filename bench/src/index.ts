/** `pnpm bench`: runs every section against server children, one after another, and writes BENCHMARKS.md. */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { killAll } from './child.js';
import { renderOverhead } from './cpu/overhead-report.js';
import { measureOverhead, OVERHEAD_ROWS, type Overhead } from './cpu/overhead.js';
import { checkTools } from './cpu/processes.js';
import { renderCpu } from './cpu/report.js';
import { measureCpu } from './cpu/run.js';
import { runDrain } from './drain.js';
import { runIdle } from './idle.js';
import { runLoad } from './load.js';
import { runMemory } from './memory.js';
import { runNodes } from './nodes.js';
import { cpuCounters, load, machine, versions } from './machine.js';
import { renderDocument, type SectionRun } from './report/document.js';
import type { Progress, SectionReport } from './report/section.js';
import { runRuntimes } from './runtimes/run.js';
import { runWebSockets } from './websockets.js';

interface Section {
  id: string;
  title: string;
  run(progress: Progress): Promise<SectionReport>;
}

/** `--quick` shrinks every section, to check the harness in a minute; its numbers mean little. */
function sections(quick: boolean, nodes: string[] = [], rows: string[] = []): Section[] {
  return [
    {
      id: 'cpu',
      title: 'CPU per request, and throughput',
      run: async (progress) => {
        await checkTools();
        const frameworks = ['node:http', 'express', 'koa', 'fastify', 'hono', 'nestjs'] as const;
        const settings = quick
          ? { frameworks, processes: 1, rounds: 2, warmups: 1, windowSeconds: 0.1, connections: 10 }
          : { frameworks, processes: 3, rounds: 24, warmups: 2, windowSeconds: 0.03, connections: 10 };
        return renderCpu(await measureCpu(settings, progress));
      },
    },
    {
      id: 'drain',
      title: 'Drain latency',
      run: (progress) =>
        runDrain(
          quick
            ? {
                cases: [
                  { remaining: 100, idle: false },
                  { remaining: 100, idle: true },
                ],
                requests: 5,
                repeats: 1,
              }
            : {
                cases: [
                  { remaining: 100, idle: false },
                  { remaining: 1_000, idle: false },
                  { remaining: 100, idle: true },
                ],
                requests: 10,
                repeats: 3,
              },
          progress,
        ),
    },
    {
      id: 'idle',
      title: 'Idle sockets',
      run: (progress) =>
        runIdle(
          quick ? { connections: 1_000, warmup: 100, batch: 250 } : { connections: 10_000, warmup: 500, batch: 250 },
          progress,
        ),
    },
    {
      id: 'load',
      title: 'Shutdown under load',
      run: (progress) => runLoad({ clients: 64, sigtermAfter: 1_000, repeats: quick ? 1 : 3 }, progress),
    },
    {
      id: 'websockets',
      title: 'WebSockets',
      run: (progress) =>
        runWebSockets(
          quick ? { clients: 200, batch: 100, repeats: 1 } : { clients: 1_000, batch: 100, repeats: 2 },
          progress,
        ),
    },
    {
      id: 'nodes',
      title: 'Node majors',
      run: async (progress) => {
        await checkTools();
        return runNodes(
          {
            nodes,
            frameworks: ['node:http', 'express'],
            cpu: quick
              ? { processes: 1, rounds: 2, warmups: 1, windowSeconds: 0.1, connections: 10 }
              : { processes: 2, rounds: 12, warmups: 2, windowSeconds: 0.03, connections: 10 },
            idle: quick
              ? { connections: 1_000, warmup: 100, batch: 250 }
              : { connections: 10_000, warmup: 500, batch: 250 },
          },
          progress,
        );
      },
    },
    {
      id: 'overhead',
      title: "lameduck's own CPU per request",
      run: async (progress) => {
        await checkTools();
        const settings = quick
          ? { processes: 2, rounds: 4, warmups: 1, windowSeconds: 0.05, connections: 10 }
          : { processes: 4, rounds: 25, warmups: 2, windowSeconds: 0.03, connections: 10 };
        const results: Overhead[] = [];
        const chosen = OVERHEAD_ROWS.filter((row) => rows.length === 0 || rows.includes(row.framework));
        for (const row of chosen) results.push(await measureOverhead(row, settings, progress));
        return renderOverhead(results);
      },
    },
    {
      id: 'memory',
      title: 'Heap after a soak',
      run: (progress) =>
        runMemory(
          quick
            ? { connections: 1_000, requests: 10_000, batch: 250, warmup: 250 }
            : { connections: 10_000, requests: 100_000, batch: 500, warmup: 500 },
          progress,
          OVERHEAD_ROWS.filter((row) => rows.length === 0 || rows.includes(row.framework)),
        ),
    },
    {
      id: 'runtimes',
      title: 'Bun and Deno',
      run: (progress) =>
        runRuntimes(
          quick
            ? { runtimes: ['bun', 'deno'], rounds: 2, requests: 500, connections: 10, idle: 500 }
            : { runtimes: ['bun', 'deno'], rounds: 24, requests: 3_000, connections: 10, idle: 10_000 },
          progress,
        ),
    },
  ];
}

const USAGE =
  'use --only=cpu,drain,idle,load,websockets,nodes,overhead,memory,runtimes (or --only cpu) --quick --out=FILE ' +
  '--node=PATH (run everything on that node binary) --nodes=PATH:PATH (the nodes section; default LAMEDUCK_NODES) ' +
  '--rows=hono,express (the overhead and memory sections: only these frameworks)';

interface Args {
  only: Set<string> | undefined;
  quick: boolean;
  out: string | undefined;
  node: string | undefined;
  nodes: string[];
  rows: string[];
}

function parseArgs(argv: string[]): Args {
  let only: Set<string> | undefined;
  let quick = false;
  let out: string | undefined;
  let node: string | undefined;
  let nodes = (process.env.LAMEDUCK_NODES ?? '').split(':').filter(Boolean);
  let rows: string[] = [];
  // `--only cpu` as well as `--only=cpu`.
  const args = argv.flatMap((arg, index) =>
    argv[index - 1] === '--only' ? [] : arg === '--only' ? [`--only=${argv[index + 1] ?? ''}`] : [arg],
  );
  for (const arg of args) {
    if (arg === '--quick') quick = true;
    else if (arg.startsWith('--only=')) only = new Set(arg.slice('--only='.length).split(','));
    else if (arg.startsWith('--out=')) out = arg.slice('--out='.length);
    else if (arg.startsWith('--node=')) node = nodeBinary('--node', arg.slice('--node='.length));
    else if (arg.startsWith('--nodes=')) nodes = arg.slice('--nodes='.length).split(':').filter(Boolean);
    else if (arg.startsWith('--rows=')) rows = arg.slice('--rows='.length).split(',').filter(Boolean);
    else throw new Error(`unknown argument ${arg}; ${USAGE}`);
  }
  nodes = nodes.map((binary) => nodeBinary('--nodes (or LAMEDUCK_NODES)', binary));
  const ids = sections(quick).map((section) => section.id);
  const unknown = [...(only ?? [])].filter((id) => !ids.includes(id));
  if (unknown.length > 0) throw new Error(`unknown section ${unknown.join(', ')}; ${USAGE}`);
  const frameworks = OVERHEAD_ROWS.map((row) => row.framework as string);
  const strange = rows.filter((row) => !frameworks.includes(row));
  if (strange.length > 0) throw new Error(`unknown row ${strange.join(', ')}; rows are ${frameworks.join(', ')}`);
  return { only, quick, out, node, nodes, rows };
}

/** `binary` if it is an absolute path to an existing file; a coded error naming `option` otherwise. */
function nodeBinary(option: string, binary: string): string {
  if (path.isAbsolute(binary) && existsSync(binary)) return binary;
  throw Object.assign(new Error(`${option}: ${JSON.stringify(binary)} is not an absolute path to a node binary`), {
    code: 'LAMEDUCK_INVALID_OPTION',
  });
}

/**
 * `--node=PATH`: the whole benchmark again on that Node (same loader flags and arguments, without
 * `--node`), so that it and every server it starts (children use process.execPath) run there.
 */
function rerunOn(node: string): Promise<number> {
  const args = process.argv.slice(2).filter((arg) => !arg.startsWith('--node='));
  const child = spawn(node, [...process.execArgv, fileURLToPath(import.meta.url), ...args], { stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  return new Promise((resolve) => child.once('close', (code) => resolve(code ?? 1)));
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (args.node !== undefined && args.node !== process.execPath) return rerunOn(args.node);
  const started = new Date();
  const t0 = performance.now();
  const elapsed = (): string => `${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s`;
  const progress: Progress = (line) => process.stdout.write(`[${elapsed()}] ${line}\n`);
  const chosen = sections(args.quick, args.nodes, args.rows).filter(
    (section) => args.only === undefined || args.only.has(section.id),
  );
  const runs: SectionRun[] = [];
  for (const section of chosen) {
    const loadBefore = load();
    const cpuBefore = cpuCounters();
    const sectionStart = performance.now();
    let report: SectionReport | undefined;
    let error: Error | undefined;
    try {
      report = await section.run(progress);
    } catch (caught) {
      error = caught instanceof Error ? caught : new Error(String(caught));
      progress(`${section.id} FAILED: ${error.stack ?? error.message}`);
      killAll();
    }
    const seconds = (performance.now() - sectionStart) / 1000;
    const cpuAfter = cpuCounters();
    runs.push({
      report,
      title: section.title,
      error,
      seconds,
      loadBefore,
      loadAfter: load(),
      otherCores:
        cpuBefore && cpuAfter
          ? (cpuAfter.machine - cpuBefore.machine - (cpuAfter.ours - cpuBefore.ours)) / seconds
          : undefined,
      stealCores: cpuBefore && cpuAfter ? (cpuAfter.steal - cpuBefore.steal) / seconds : undefined,
    });
  }
  const partial = args.quick || args.only !== undefined || args.rows.length > 0;
  const out =
    args.out ??
    (partial
      ? path.join(os.tmpdir(), 'BENCHMARKS.partial.md')
      : fileURLToPath(new URL('../../BENCHMARKS.md', import.meta.url)));
  const markdown = renderDocument({
    machine: machine(),
    versions: versions(),
    sections: runs,
    started,
    totalSeconds: (performance.now() - t0) / 1000,
    command: 'pnpm bench',
  });
  writeFileSync(out, markdown + keptSection(out));
  progress(`wrote ${out}`);
  return runs.some((run) => run.error !== undefined) ? 1 : 0;
}

/** The section `pnpm e2e` wrote into the file being replaced (between its markers), kept as it was. */
function keptSection(file: string): string {
  if (!existsSync(file)) return '';
  const existing = readFileSync(file, 'utf8');
  const begin = existing.indexOf('<!-- e2e:begin');
  const end = existing.indexOf('<!-- e2e:end -->');
  return begin === -1 || end < begin ? '' : `\n${existing.slice(begin, end + '<!-- e2e:end -->'.length)}\n`;
}

// Ctrl+C or a SIGTERM to the benchmark itself: exit through process.exit so the children are killed too.
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
