/** Section `runtimes`: Hono on `Bun.serve` and `Deno.serve`, lameduck against bare: CPU per request and idle exit. */
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { hrNow, runtimeBinary, spawnChild, stopChild, type Child, type Runtime } from '@lameduck/test-utils';
import { openIdle } from '../clients.js';
import { fixed, int, table, wrap } from '../report/markdown.js';
import type { Progress, SectionReport } from '../report/section.js';
import { bootstrapMedian, median, type Estimate } from '../stats.js';

export interface RuntimesSettings {
  runtimes: readonly Runtime[];
  /** Rounds of three windows (bare, bare again, lameduck; in a shuffled order each round). */
  rounds: number;
  /** Requests per window, over `connections` keep-alive connections. */
  requests: number;
  connections: number;
  /** Idle keep-alive connections open at SIGTERM. */
  idle: number;
}

type Slot = 'bare' | 'bare-aa' | 'noop' | 'lameduck';
const SLOTS: readonly Slot[] = ['bare', 'bare-aa', 'noop', 'lameduck'];
const SERVER = fileURLToPath(new URL('./server.ts', import.meta.url));
const CAP = 15_000;

/** The server on `runtime`, from the TypeScript sources, in `mode`. */
function start(runtime: Runtime, mode: string): Child {
  const args =
    runtime === 'bun'
      ? ['--conditions=@lameduck/source', SERVER]
      : [
          'run',
          '--allow-net',
          '--allow-env',
          '--allow-read',
          '--sloppy-imports',
          '--conditions=@lameduck/source',
          SERVER,
        ];
  return spawnChild(args, { command: runtimeBinary(runtime), env: { MODE: mode }, clock: hrNow });
}

/** `count` GET / over `agent`'s connections, `connections` at a time. */
async function load(port: number, agent: http.Agent, count: number, connections: number): Promise<void> {
  let left = count;
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        })
        .on('error', reject);
    });
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (left-- > 0) await one();
    }),
  );
}

async function cpuMicros(port: number): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}/`);
  return Number(await response.text());
}

/** µs of server CPU per request for each slot, one value per round; and the two ratios per round. */
async function measureCpu(runtime: Runtime, settings: RuntimesSettings, progress: Progress) {
  const child = start(runtime, 'cpu');
  try {
    const { ports } = (await child.event((line) => line.event === 'listening')) as unknown as {
      ports: Record<Slot | 'cpu', number>;
    };
    const agents = Object.fromEntries(SLOTS.map((slot) => [slot, new http.Agent({ keepAlive: true })])) as Record<
      Slot,
      http.Agent
    >;
    const perRequest: Record<Slot, number[]> = { bare: [], 'bare-aa': [], noop: [], lameduck: [] };
    for (let round = -2; round < settings.rounds; round++) {
      // Shuffled each round, so that no slot always follows the same one.
      const order = [...SLOTS].sort(() => Math.random() - 0.5);
      for (const slot of order) {
        const before = await cpuMicros(ports.cpu);
        await load(ports[slot], agents[slot], settings.requests, settings.connections);
        const after = await cpuMicros(ports.cpu);
        // Two rounds of warm-up (the JIT), not kept.
        if (round >= 0) perRequest[slot].push((after - before) / settings.requests);
      }
    }
    for (const agent of Object.values(agents)) agent.destroy();
    progress(`runtimes: ${runtime} cpu done`);
    const ratio = (slot: Slot, reference: Slot): Estimate =>
      bootstrapMedian(perRequest[slot].map((value, round) => value / perRequest[reference][round]!));
    const delta = (slot: Slot, reference: Slot): Estimate =>
      bootstrapMedian(perRequest[slot].map((value, round) => value - perRequest[reference][round]!));
    return {
      bareMicros: median(perRequest.bare),
      noopMicros: median(perRequest.noop),
      lameduckMicros: median(perRequest.lameduck),
      aa: ratio('bare-aa', 'bare'),
      aaDelta: delta('bare-aa', 'bare'),
      lameduck: ratio('lameduck', 'noop'),
      delta: delta('lameduck', 'noop'),
    };
  } finally {
    await stopChild(child);
  }
}

/** SIGTERM with `count` idle keep-alive connections open: ms until the process has exited. */
async function idleExit(runtime: Runtime, mode: string, count: number): Promise<number | null> {
  const child = start(runtime, mode);
  const { port } = await child.event((line) => line.event === 'listening');
  const idle = await openIdle(port as number, count, 250);
  try {
    // Every connection idle for longer than idleGrace (500 ms), as in the idle section.
    await sleep(1_000);
    const signalled = hrNow();
    child.kill('SIGTERM');
    const exited = await Promise.race([child.timedExit, sleep(CAP).then(() => null)]);
    return exited === null ? null : exited.at - signalled;
  } finally {
    idle.destroy();
    await stopChild(child);
  }
}

const ms = (value: number | null): string => (value === null ? `hung > ${CAP / 1000} s` : `${int(value)} ms`);
const interval = ({ median: value, low, high }: Estimate, digits: number): string =>
  `**${fixed(value, digits)}** (${fixed(low, digits)}–${fixed(high, digits)})`;

export async function runRuntimes(settings: RuntimesSettings, progress: Progress): Promise<SectionReport> {
  const rows: string[][] = [];
  const idleRows: string[][] = [];
  for (const runtime of settings.runtimes) {
    progress(`runtimes: ${runtime}`);
    const cpu = await measureCpu(runtime, settings, progress);
    rows.push([
      runtime === 'bun' ? 'Bun.serve' : 'Deno.serve',
      fixed(cpu.bareMicros, 1),
      fixed(cpu.noopMicros, 1),
      fixed(cpu.lameduckMicros, 1),
      interval(cpu.delta, 2),
      interval(cpu.lameduck, 3),
      interval(cpu.aaDelta, 2),
    ]);
    const bare = await idleExit(runtime, 'idle-bare', settings.idle);
    const lameduck = await idleExit(runtime, 'idle-lameduck', settings.idle);
    idleRows.push([runtime === 'bun' ? 'Bun.serve' : 'Deno.serve', ms(bare), ms(lameduck)]);
  }
  const markdown = [
    wrap(
      "Hono on each runtime's own server, one process holding three apps on three ports: bare, bare again (the " +
        'A/A control: what two identical apps differ by in this run) and `app.use(graceful())`. Load alternates ' +
        `between them in windows of ${int(settings.requests)} requests over ${settings.connections} keep-alive ` +
        `connections, in a shuffled order, ${settings.rounds} rounds after two of warm-up; the server process's own ` +
        'CPU time (user + system) over each window, per request. Medians with 95% bootstrap intervals over rounds. ' +
        `Idle: SIGTERM with ${int(settings.idle)} idle keep-alive connections, until the process exited; bare ` +
        'has no signal handler (killed by the signal: the floor).',
    ),
    table(
      [
        { header: 'Server' },
        { header: 'bare µs/request', align: 'right' },
        { header: 'no-op middleware', align: 'right' },
        { header: 'lameduck', align: 'right' },
        { header: 'lameduck − no-op, µs (95% CI)', align: 'right' },
        { header: 'lameduck / no-op', align: 'right' },
        { header: 'A/A: bare − bare, µs', align: 'right' },
      ],
      rows,
    ),
    table(
      [
        { header: 'Server' },
        { header: 'bare: SIGTERM → exit', align: 'right' },
        { header: 'lameduck: SIGTERM → exit', align: 'right' },
      ],
      idleRows,
    ),
  ].join('\n\n');
  return {
    title: 'Bun and Deno: Hono on Bun.serve and Deno.serve',
    headline: `on ${settings.runtimes.join(' and ')}, lameduck's CPU per request and idle exit against bare Hono (see the section)`,
    markdown,
    findings: [],
  };
}
