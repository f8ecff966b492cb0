/** Section 1's report: CPU per request against bare in the same process, the A/A control, throughput, findings. */
import { fixed, int, percent, range, table, wrap } from '../report/markdown.js';
import type { Finding, SectionReport } from '../report/section.js';
import { bootstrapMedian, median, type Estimate } from '../stats.js';
import { FRAMEWORK_NAMES, LIBRARY_NAMES, type Framework } from '../variants.js';
import { CPU_VARIANTS, isPeer, type CpuVariant } from './protocol.js';
import type { CpuRun, CpuSample, WindowMeasure } from './run.js';

/** What this section's A/A controls are checked against: resolving 2% of the reference's CPU. */
const TARGET = 1.02;

/** What lameduck is held against: bare, or bare with one no-op middleware where a framework has middleware. */
export const REFERENCE: Record<Framework, CpuVariant> = {
  'node:http': 'bare',
  fastify: 'bare',
  express: 'noop',
  koa: 'noop',
  hono: 'noop',
  nestjs: 'bare',
};

function variantLabel(framework: Framework, variant: CpuVariant): string {
  if (variant === 'bare-aa') return 'bare, a second slot (A/A control)';
  if (variant === 'noop' || variant === 'noop-aa') {
    const label = framework === 'fastify' ? 'bare + a no-op `onRequest` hook' : 'bare + a no-op middleware';
    return variant === 'noop' ? label : `${label}, a second slot (A/A control)`;
  }
  return LIBRARY_NAMES[variant];
}

/**
 * `variant`'s samples paired with `reference`'s, combined by `pair`: against bare, each window with the bare
 * windows around it; against another variant (the no-op middleware), each with that variant's window of the
 * same round and process, both first taken relative to the bare windows around them.
 */
function paired(
  samples: readonly CpuSample[],
  variant: CpuVariant,
  reference: CpuVariant,
  pair: (sample: WindowMeasure, base: WindowMeasure) => number,
): number[] {
  const own = samples.filter((s) => s.variant === variant);
  if (reference === 'bare') return own.map((s) => pair(s, s.bare));
  const base = new Map(samples.filter((s) => s.variant === reference).map((s) => [`${s.process}/${s.round}`, s]));
  return own.map((s) => {
    const b = base.get(`${s.process}/${s.round}`)!;
    // Both relative to their own surrounding bare, then on bare's scale: drift between the two cancels.
    const scale = (s.bare.micros + b.bare.micros) / 2;
    const relative = (w: CpuSample): WindowMeasure => ({
      micros: (w.micros / w.bare.micros) * scale,
      rps: (w.rps / w.bare.rps) * ((s.bare.rps + b.bare.rps) / 2),
    });
    return pair(relative(s), relative(b));
  });
}

export const cpuRatio = (samples: readonly CpuSample[], variant: CpuVariant, reference: CpuVariant): Estimate =>
  bootstrapMedian(paired(samples, variant, reference, (s, b) => s.micros / b.micros));

const interval = (estimate: Estimate): string =>
  `**${fixed(estimate.median, 3)}** (${fixed(estimate.low, 3)}–${fixed(estimate.high, 3)})`;

/** Signed microseconds: the median of the per-window differences. */
function extraMicros(samples: readonly CpuSample[], variant: CpuVariant, reference: CpuVariant): string {
  const difference = median(paired(samples, variant, reference, (s, b) => s.micros - b.micros));
  return `${difference >= 0 ? '+' : '−'}${fixed(Math.abs(difference), 2)} µs`;
}

function frameworkTable(framework: Framework, samples: readonly CpuSample[]): string {
  const rows = CPU_VARIANTS[framework].map((variant) => {
    const own = samples.filter((s) => s.variant === variant);
    const first = variant === 'bare';
    return [
      variantLabel(framework, variant),
      fixed(median(own.map((s) => s.micros)), 2),
      first ? '1 (reference)' : interval(cpuRatio(samples, variant, 'bare')),
      first ? '—' : extraMicros(samples, variant, 'bare'),
      int(median(own.map((s) => s.rps))),
      first ? '—' : percent(median(paired(samples, variant, 'bare', (s, b) => s.rps / b.rps))),
    ];
  });
  return table(
    [
      { header: 'Variant' },
      { header: 'CPU µs/request', align: 'right' },
      { header: 'CPU vs bare (95% CI)', align: 'right' },
      { header: 'CPU − bare', align: 'right' },
      { header: 'req/s', align: 'right' },
      { header: 'req/s vs bare', align: 'right' },
    ],
    rows,
  );
}

function frameworkNotes(framework: Framework, run: CpuRun, samples: readonly CpuSample[]): string {
  const reference = REFERENCE[framework];
  const perProcess = Array.from({ length: run.settings.processes }, (_, index) =>
    fixed(median(samples.filter((s) => s.process === index && s.variant === 'bare').map((s) => s.micros)), 1),
  );
  const target =
    reference === 'bare'
      ? ''
      : `lameduck against ${variantLabel(framework, reference)} in the same rounds: ` +
        `${interval(cpuRatio(samples, 'lameduck', reference))}, ${extraMicros(samples, 'lameduck', reference)}. `;
  return wrap(
    `${target}Bare's median CPU per request in each process: ${perProcess.join(', ')} µs (processes of the same ` +
      'server differ; the ratios compare variants within one process). The server process had ' +
      `${percent(median(samples.map((s) => s.busy)), 0)} of its core over the median window ` +
      `(${int(run.windowRequests[framework] ?? 0)} requests per window).`,
  );
}

function overview(run: CpuRun): string {
  const frameworks = run.settings.frameworks;
  const variants: CpuVariant[] = ['bare-aa', 'noop', 'lameduck', 'terminus', 'hgs', 'terminator', 'close-with-grace'];
  const of = (framework: Framework): CpuSample[] => run.samples.filter((s) => s.framework === framework);
  const cell = (framework: Framework, variant: CpuVariant, reference: CpuVariant = 'bare'): string =>
    CPU_VARIANTS[framework].includes(variant) ? interval(cpuRatio(of(framework), variant, reference)) : '–';
  const rows = [
    [
      'bare, µs of server CPU per request',
      ...frameworks.map((f) =>
        fixed(
          median(
            of(f)
              .filter((s) => s.variant === 'bare')
              .map((s) => s.micros),
          ),
          1,
        ),
      ),
    ],
    ...variants.map((variant) => [
      variant === 'noop' ? 'bare + a no-op middleware (Fastify: `onRequest` hook)' : variantLabel('node:http', variant),
      ...frameworks.map((f) => cell(f, variant)),
    ]),
    [
      '**lameduck vs bare + no-op**',
      ...frameworks.map((f) => (REFERENCE[f] === 'noop' ? cell(f, 'lameduck', 'noop') : '–')),
    ],
  ];
  return table(
    [
      { header: 'CPU per request vs bare (median, 95% CI)' },
      ...frameworks.map((f) => ({ header: FRAMEWORK_NAMES[f], align: 'right' as const })),
    ],
    rows,
  );
}

function findings(framework: Framework, samples: readonly CpuSample[]): Finding[] {
  const name = FRAMEWORK_NAMES[framework];
  // lameduck's own cost against its reference, the target, is the overhead section's, in µs.
  const found: Finding[] = [];
  for (const peer of CPU_VARIANTS[framework].filter(isPeer)) {
    const versus = cpuRatio(samples, 'lameduck', peer);
    if (versus.median <= 1) continue;
    found.push({
      kind: 'loss',
      noise: versus.low <= 1,
      text:
        `CPU per request, ${name}: ${variantLabel(framework, peer)} used less server CPU per request than ` +
        `lameduck (lameduck ${fixed(versus.median, 3)}× its CPU, 95% CI ${fixed(versus.low, 3)}–${fixed(versus.high, 3)}).`,
    });
  }
  return found;
}

function method(run: CpuRun): string {
  const { settings } = run;
  return wrap(
    'Server CPU time per request, read by the server process itself: `process.cpuUsage()` (user + system, ' +
      'every thread of the process) at the start and the end of a window of a fixed number of requests, ' +
      `counted by the server. Each framework runs in ${settings.processes} fresh server process(es) compiled to ` +
      "JavaScript (`bench/dist`, importing the packages' built `dist`; no `tsx`). One process holds every " +
      'variant of its framework, each on its own `http.Server`. Express and Koa give every app its own request ' +
      'prototypes, and two identical apps in one process then differ in CPU per request by several per cent, ' +
      'at random per process; so their variants share one app, built as its README shows, and differ only in ' +
      "its first middleware: none (bare, its A/A twin, the peers), a no-op one, or lameduck's (Express: the " +
      "router's first layer, switched between windows; Koa: one composition of the middleware per variant). " +
      "Nest (on Express) shares one app too: bare is its server's request listener as Nest made it, lameduck " +
      'the same server after `setupLameduck()` (LameduckModule imported in both). Hono (through ' +
      "@hono/node-server's `getRequestListener()`) shares one app whose first middleware hands on to the " +
      "variant's own, if any (separate apps differed by ±0.5 µs per request at random per process); it runs no " +
      'peers, which touch only the server and are measured on the other frameworks. ' +
      'node:http and Fastify variants are apps of their own (Fastify through `serverFactory`). The peers touch ' +
      "only the server, so each is set up on its own `http.Server` around bare's app. The " +
      "process's one listening server hands each request to the current variant's server " +
      "(`emit('request')`, the same call for all). lameduck is attached to that listening server, as " +
      '`attach(server)` does in an application; its `diagnostics_channel` subscription, process-wide, is live ' +
      "only while lameduck serves, and the server checks that no variant leaves work behind on Node's HTTP " +
      'channels or on the listening server. Several Fastify apps in a process make its shared code see several ' +
      'object shapes, so absolute microseconds sit somewhat above those of a process with one app; every ' +
      'ratio compares like with like. ' +
      `wrk (one thread, ${settings.connections} keep-alive connections, \`GET /\` on 127.0.0.1) runs for the ` +
      'whole life of the process; the driver switches the variant over IPC, the server lets the first tenth of ' +
      `a window's worth of requests pass, then measures about ${settings.windowSeconds} s of requests (at least 500). ` +
      (run.pinned
        ? 'The server is pinned to core 1, wrk and the driver to core 0 (`taskset`). '
        : 'The processes could not be pinned to cores. ') +
      `After ${settings.warmups} discarded round(s), ${settings.rounds} rounds per process run every variant once ` +
      "each, in a new random order, each variant's window between two of bare's: bare, A, bare, B, bare, … " +
      '(on this shared machine CPU per request drifts by several per cent within seconds, and windows next ' +
      'to each other differ far less than windows a second apart). A ratio is the median, over all rounds of ' +
      "all processes, of a variant's CPU per request over the mean of the two bare windows around it, with its " +
      '95% bootstrap interval (2,000 resamples of the windows); against the no-op middleware, both are first ' +
      'taken relative to their own bare neighbours. Bare has two separate slots: the second against the first ' +
      "is the A/A control, what the run can resolve. req/s is the server's own count over its own clock; with the server saturating its " +
      'core it mirrors CPU per request. close-with-grace adds only process listeners and runs on Fastify only; ' +
      "the peers' connection listeners, on their own servers, see no connections here, which with keep-alive " +
      'connections costs nothing per request anyway.',
  );
}

/** Renders the run as section 1. */
export function renderCpu(run: CpuRun): SectionReport {
  const frameworks = run.settings.frameworks;
  const of = (framework: Framework): CpuSample[] => run.samples.filter((s) => s.framework === framework);
  const aa = frameworks.map((f) => cpuRatio(of(f), 'bare-aa', 'bare'));
  const unresolved = frameworks
    .filter((_, i) => aa[i]!.low < 2 - TARGET || aa[i]!.high > TARGET)
    .map((f) => FRAMEWORK_NAMES[f]);
  const resolves = unresolved.length === 0;
  const lameduck = frameworks.map((f) => {
    const estimate = cpuRatio(of(f), 'lameduck', REFERENCE[f]);
    return `${fixed(estimate.median, 3)} (${FRAMEWORK_NAMES[f]}${REFERENCE[f] === 'noop' ? ', vs a no-op middleware' : ''})`;
  });
  const aaText = aa.map((e, i) => `${fixed(e.median, 3)} ${FRAMEWORK_NAMES[frameworks[i]!]}`).join(', ');
  const resolution =
    `The A/A controls came out at ${aaText}; ` +
    (resolves
      ? `every 95% interval lies within ${fixed(2 - TARGET, 2)}–${fixed(TARGET, 2)}, so this run resolves 2%.`
      : `the 95% intervals of ${unresolved.join(', ')} reach outside ${fixed(2 - TARGET, 2)}–${fixed(TARGET, 2)}, ` +
        `so this run does not resolve 2% on ${unresolved.length === 1 ? 'that framework' : 'those frameworks'}.`);
  const body = frameworks.map(
    (f) => `### ${FRAMEWORK_NAMES[f]}\n\n${frameworkTable(f, of(f))}\n\n${frameworkNotes(f, run, of(f))}`,
  );
  return {
    title: 'CPU per request, and throughput',
    headline:
      `lameduck used ${lameduck.join(', ')}× the server CPU per request of bare (its own cost in µs, the ` +
      `target, is in the overhead section; A/A control ${range(fixed(Math.min(...aa.map((e) => e.low)), 3), fixed(Math.max(...aa.map((e) => e.high)), 3))})`,
    markdown: [method(run), overview(run), wrap(resolution), ...body].join('\n\n'),
    findings: frameworks.flatMap((f) => findings(f, of(f))),
  };
}
