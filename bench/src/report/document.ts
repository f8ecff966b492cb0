/** Assembles BENCHMARKS.md: summary, machine and versions, method, findings, then each section. */
import type { Machine } from '../machine.js';
import { LIBRARY_NAMES, LIBRARY_SETUPS, type Library } from '../variants.js';
import { bullets, fixed, table, wrap } from './markdown.js';
import type { Finding, SectionReport } from './section.js';

/** A section as run: its report (or the error that stopped it), duration and the machine's load around it. */
export interface SectionRun {
  report: SectionReport | undefined;
  title: string;
  error: Error | undefined;
  seconds: number;
  loadBefore: number;
  loadAfter: number;
  /** Average cores busy with processes other than the benchmark's during the section (Linux only). */
  otherCores: number | undefined;
  /** Average cores' worth of time the hypervisor gave to other machines (Linux only). */
  stealCores: number | undefined;
}

export interface DocumentInput {
  machine: Machine;
  versions: [string, string][];
  sections: SectionRun[];
  started: Date;
  totalSeconds: number;
  command: string;
}

function findingsBlock(findings: Finding[]): string {
  const list = (kind: Finding['kind'], noise: boolean): string[] =>
    findings.filter((f) => f.kind === kind && (f.noise ?? false) === noise).map((f) => f.text);
  const block = (title: string, items: string[], none: string): string =>
    `**${title}**\n\n${items.length === 0 ? none : bullets(items)}`;
  return [
    block('Targets lameduck missed:', list('miss', false), 'none in this run.'),
    block('Rows where a peer did better than lameduck:', list('loss', false), 'none in this run.'),
    block(
      'Within the noise of this run (reported for completeness; the A/A comparison or a repeat could reverse them):',
      [...list('miss', true), ...list('loss', true)],
      'nothing.',
    ),
  ].join('\n\n');
}

const LIBRARIES: Library[] = [
  'bare',
  'textbook',
  'lameduck',
  'lameduck-default',
  'terminus',
  'hgs',
  'terminator',
  'close-with-grace',
];

function method(input: DocumentInput): string {
  return (
    bullets([
      "Section 1 runs compiled server processes (`bench/dist`, on the packages' built `dist`) that hold every " +
        "variant of one framework, with Debian's `wrk` as the load generator on the other core; its own method " +
        'says how. In sections 2 to 5 every server under test is a child process (`node --expose-gc ' +
        '--conditions=@lameduck/source --import tsx bench/src/servers/<framework>-<library>.ts`, one small file per ' +
        'library and framework) listening on 127.0.0.1, port 0; it prints `{"event":"listening","port":N}` on ' +
        'stdout. The driver (raw `http`/`net`/`ws` clients) runs in the parent process. Server and clients ' +
        'therefore share the two cores.',
      'SIGTERM is a real signal (`child.kill()`); "SIGTERM → exit" runs from that call to the child\'s `exit` ' +
        'event in the driver. "exit code" is the code, or the signal the process died of (terminus re-raises ' +
        'SIGTERM after its cleanup by default, so its processes die of SIGTERM rather than exit), or "hung, SIGKILL" ' +
        'when the driver had to kill it.',
      "No load balancer is in front of these servers, so lameduck runs with `readinessDelay: 0` (its README's " +
        'advice when nothing routes by readiness); section 4 adds a row with a fixed 5 s delay (the default before `"auto"`), marked ⚑, and ' +
        'explains it. Peers get a 10 s timeout where they have one.',
      'Sections 2 to 5 run lameduck on every framework and the peers on Express (their code touches only the ' +
        "`http.Server`, which is the same for Express and Koa), plus Fastify's own `close()` with close-with-grace; " +
        'section 1 runs every peer on every framework (close-with-grace, which adds only process listeners, on Fastify).',
      "Sections 7 and 8 run section 1's compiled server processes with three variants (lameduck's own CPU per " +
        'request, against a baseline and its A/A twin) or one (the heap after a soak, with `--expose-gc`), on every ' +
        'adapter; their own methods say how.',
    ]) +
    '\n\nHow each library is set up (`bench/src/servers/`):\n\n' +
    table(
      [{ header: 'Library' }, { header: 'Setup' }],
      LIBRARIES.map((library) => [LIBRARY_NAMES[library], LIBRARY_SETUPS[library]]),
    ) +
    `\n\nRun with \`${input.command}\`.`
  );
}

function noise(input: DocumentInput): string {
  const cores = (value: number | undefined): string => (value === undefined ? 'n/a' : fixed(Math.max(0, value), 2));
  const rows = input.sections.map((section) => [
    section.title,
    `${fixed(section.seconds, 0)} s`,
    cores(section.otherCores),
    cores(section.stealCores),
    `${fixed(section.loadBefore, 2)} → ${fixed(section.loadAfter, 2)}`,
  ]);
  return [
    wrap(
      'These machines are shared and have two cores, which the server, the load generator and anything else ' +
        'running at the time split between them. Absolute numbers (req/s, milliseconds) move from run to run and ' +
        'are not comparable with other machines; the comparisons inside one run hold better, because the variants ' +
        'are interleaved (sections 1 and 7 inside the same processes in a random order per round, sections 2, 4 and 5 ' +
        'repetition by repetition). ' +
        'Single runs (section 3) carry some scheduling noise: a difference of a few milliseconds or per cent ' +
        'between two libraries is not a result. For each section, the table gives the CPU that processes ' +
        "other than the benchmark's own used meanwhile (average cores, from /proc/stat minus the benchmark's " +
        'process tree; anything well above 0 competed with the measurements), the time the hypervisor gave to ' +
        `other machines (steal), and the 1-minute load average before and after (${input.machine.cores} cores).`,
    ),
    table(
      [
        { header: 'Section' },
        { header: 'took', align: 'right' },
        { header: 'other processes (cores)', align: 'right' },
        { header: 'steal (cores)', align: 'right' },
        { header: 'load average', align: 'right' },
      ],
      rows,
    ),
  ].join('\n\n');
}

/** Average cores used by other processes above which a section's numbers are flagged as disturbed. */
const BUSY = 0.25;

function count(findings: Finding[], kind: Finding['kind']): number {
  return findings.filter((finding) => finding.kind === kind && finding.noise !== true).length;
}

/** The whole file. */
export function renderDocument(input: DocumentInput): string {
  const findings = input.sections.flatMap((section) => section.report?.findings ?? []);
  const headlines = input.sections.flatMap((section) => (section.report ? [section.report.headline] : []));
  const failed = input.sections.filter((section) => section.error !== undefined);
  const disturbed = input.sections.filter((section) => (section.otherCores ?? 0) >= BUSY);
  const summary =
    `On a shared ${input.machine.cores}-core machine, ${headlines.join('; ')}.` +
    ` Targets missed: ${count(findings, 'miss')}; rows where a peer did better: ${count(findings, 'loss')} ` +
    '(beyond the noise of the run; all listed below).' +
    (disturbed.length > 0
      ? ` ⚠ Other processes competed for the CPU during: ${disturbed.map((section) => section.title).join(', ')}.`
      : '');
  const sections = input.sections.map((section, index) => {
    const heading = `## ${index + 1}. ${section.report?.title ?? section.title}`;
    if (section.report === undefined) {
      return `${heading}\n\n**This section failed in this run:** \`${section.error?.message ?? 'unknown error'}\``;
    }
    const busy =
      section.otherCores !== undefined && section.otherCores >= BUSY
        ? `> ⚠ Other processes on this machine used ${fixed(section.otherCores, 2)} cores on average while this ` +
          'section ran: its numbers are disturbed by them. Run the command again on a quiet machine.\n\n'
        : '';
    return `${heading}\n\n${busy}${section.report.markdown}`;
  });
  return [
    '<!-- Generated by `pnpm bench` (bench/src/index.ts): do not edit by hand, run the command again. -->',
    '# Benchmarks',
    `**Summary:** ${summary}`,
    wrap(
      `Generated ${input.started.toISOString().replace('T', ' ').slice(0, 16)} UTC in ${fixed(input.totalSeconds / 60, 1)} ` +
        'minutes by one run of `pnpm bench`.' +
        (failed.length > 0 ? ` ${failed.length} section(s) failed; see below.` : ''),
    ),
    '## Machine and versions',
    table(
      [{ header: 'Machine' }, { header: '' }],
      [
        ['CPU', `${input.machine.cpu} (${input.machine.cores} cores available)`],
        ['Memory', input.machine.memory],
        ['OS', input.machine.os],
        ['Node.js', input.machine.node],
      ],
    ),
    table(
      [{ header: 'Package' }, { header: 'Version', align: 'right' }],
      input.versions.map(([name, version]) => [`\`${name}\``, version]),
    ),
    '## Method',
    method(input),
    '## Where lameduck misses or loses',
    findingsBlock(findings),
    ...sections,
    '## Noise',
    noise(input),
    '',
  ].join('\n\n');
}
