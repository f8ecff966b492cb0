/** Turns the measurements into an aligned plain-text table and a paragraph that reads them. */
import { describeExit, type Exit } from './child.js';
import type { Tally } from '@lameduck/test-utils';

/** A lost request: milliseconds after SIGTERM, and whether it went over a reused keep-alive connection. */
export interface LossAfterSigterm {
  ms: number;
  reused: boolean;
}

/** What one server variant did under load. */
export interface VariantResult {
  name: string;
  tally: Tally;
  /** The part of `tally` that happened after SIGTERM was sent. */
  afterSigterm: Tally;
  others: ReadonlyMap<string, number>;
  losses: LossAfterSigterm[];
  /** Milliseconds from SIGTERM to the first refused connection, if any. */
  firstRefusedMs: number | undefined;
  /** Milliseconds from SIGTERM to the process exit, measured in this process. */
  exitMs: number;
  exit: Exit & { killed: boolean };
}

interface Row {
  label: string;
  value: (result: VariantResult) => number | string;
}

const lost = (tally: Tally): number => tally.lostReused + tally.lostNew;

const ROWS: Row[] = [
  { label: 'completed (2xx)', value: (r) => r.tally.completed },
  { label: '  of which after SIGTERM', value: (r) => r.afterSigterm.completed },
  { label: 'rejected with 503 (clean, retryable)', value: (r) => r.tally.rejected },
  { label: 'refused (never accepted, harmless)', value: (r) => r.tally.refused },
  { label: 'reset / hang-up (lost)', value: (r) => lost(r.tally) },
  { label: '  on a reused keep-alive connection', value: (r) => r.tally.lostReused },
  { label: '  on a new connection', value: (r) => r.tally.lostNew },
  { label: 'other errors', value: (r) => r.tally.other },
  { label: 'SIGTERM to exit (ms)', value: (r) => r.exitMs },
  { label: 'exit code', value: exitCell },
];

const WIDTH = 100;

function exitCell(result: VariantResult): string {
  if (result.exit.killed) return 'hung, killed';
  return result.exit.code === null ? `${result.exit.signal}` : String(result.exit.code);
}

/** Metrics down the side, one column per variant, values right-aligned; then any `other` details. */
export function formatTable(results: VariantResult[]): string {
  const header = ['', ...results.map((result) => result.name)];
  const body = ROWS.map((row) => [row.label, ...results.map((result) => String(row.value(result)))]);
  const widths = header.map((_, column) => Math.max(...[header, ...body].map((cells) => cells[column]!.length)));
  const line = (cells: string[]): string =>
    cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[0]!) : cell.padStart(widths[column]!))).join('   ');
  const notes = results
    .filter((result) => result.others.size > 0)
    .map((result) => `${result.name}, other: ${[...result.others].map(([what, n]) => `${what} x${n}`).join(', ')}`);
  return [line(header), ...body.map(line), ...notes].join('\n');
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** `12-40 ms`: when the lost requests of one kind failed, after SIGTERM. */
function span(result: VariantResult, reused: boolean): string {
  const times = result.losses.filter((loss) => loss.reused === reused).map((loss) => loss.ms);
  const low = Math.min(...times);
  const high = Math.max(...times);
  return low === high ? `${low} ms` : `${low}-${high} ms`;
}

function ending(result: VariantResult): string {
  return result.exit.killed ? 'and had to be killed' : `with ${describeExit(result.exit)}`;
}

function textbookSentences(result: VariantResult): string[] {
  const { lostReused, lostNew } = result.tally;
  const sentences = [
    lostReused > 0
      ? `The textbook server reset ${plural(lostReused, 'request')} on reused keep-alive connections ` +
        `(${span(result, true)} after SIGTERM): server.close() stops accepting and at that instant destroys every ` +
        'keep-alive connection that looks idle, including those on which a client has just sent its next ' +
        'request, and that client gets ECONNRESET without knowing whether its request ran.'
      : 'The textbook server reset no request on a keep-alive connection this time: the race in which ' +
        'server.close() destroys one just as a client sends its next request on it depends on timing.',
  ];
  if (lostNew > 0) sentences.push(`It also reset ${plural(lostNew, 'request')} on new connections.`);
  sentences.push(
    result.exitMs >= 2_000
      ? 'Connections busy at SIGTERM stay open and are served for as long as their clients keep sending; once ' +
          'the clients here stopped, it waited for those connections to sit idle past the keep-alive timeout ' +
          `(5 s, enforced about 1 s late) and exited ${result.exitMs} ms after SIGTERM ${ending(result)}.`
      : `It exited ${result.exitMs} ms after SIGTERM ${ending(result)}.`,
  );
  return sentences;
}

function lameduckSentences(result: VariantResult): string[] {
  const refused =
    result.firstRefusedMs === undefined ? '' : ` (first refusal ${result.firstRefusedMs} ms after SIGTERM)`;
  const rejected =
    result.tally.rejected > 0 ? `, answered ${plural(result.tally.rejected, 'late request')} with 503` : '';
  return [
    `lameduck kept serving after SIGTERM (${result.afterSigterm.completed} more responses), each with ` +
      'Connection: close so clients left their keep-alive connections, closed its listener' +
      `${refused}${rejected}, closed the connections left itself and exited ${result.exitMs} ms after ` +
      `SIGTERM ${ending(result)} (it exits 1 when its deadline has to force anything).`,
  ];
}

/** Resets on new connections, both variants: what they are, and why lameduck has them here. */
function newConnectionSentences(textbook: VariantResult, lameduck: VariantResult): string[] {
  if (textbook.tally.lostNew + lameduck.tally.lostNew === 0) return [];
  const sentences = [
    'Resets on new connections come from closing a listener under load: the kernel resets the connections ' +
      'it had queued in the listen backlog that Node had not accepted yet. The app never saw those requests, ' +
      'but their clients cannot know that.',
  ];
  if (lameduck.tally.lostNew > 0) {
    sentences.push(
      `lameduck's ${lameduck.tally.lostNew} (${span(lameduck, false)} after SIGTERM, as its listener closed) are ` +
        'of that kind: nothing in this demo moves traffic away during the readiness delay, and Connection: close ' +
        'makes every client open a new connection per request meanwhile; in production that delay is there so ' +
        'the load balancer has stopped opening connections by the time the listener closes.',
    );
  }
  return sentences;
}

function lameduckVerdict(lameduck: VariantResult): string[] {
  const { lostNew, lostReused } = lameduck.tally;
  if (lostNew + lostReused === 0) return ['lameduck lost nothing.'];
  if (lostReused === 0) return [];
  return [
    `lameduck's ${plural(lostReused, 'reset')} on reused keep-alive connections (${span(lameduck, true)} after ` +
      'SIGTERM) are not explained by its listener closing: that would be a lameduck bug.',
  ];
}

function wrap(text: string): string {
  const lines: string[] = [];
  let current = '';
  for (const word of text.split(' ')) {
    if (current !== '' && current.length + 1 + word.length > WIDTH) {
      lines.push(current);
      current = word;
    } else {
      current = current === '' ? word : `${current} ${word}`;
    }
  }
  return [...lines, current].join('\n');
}

/** One paragraph that reads the numbers of both variants. */
export function explain(textbook: VariantResult, lameduck: VariantResult): string {
  const sentences = [
    ...textbookSentences(textbook),
    ...lameduckSentences(lameduck),
    ...newConnectionSentences(textbook, lameduck),
    ...lameduckVerdict(lameduck),
  ];
  return wrap(sentences.join(' '));
}
