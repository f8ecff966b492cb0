/** Markdown building blocks for BENCHMARKS.md: tables, number formats, text bar charts. */

/** A column: its header and alignment. */
export interface Column {
  header: string;
  align?: 'left' | 'right';
}

/** A GitHub-flavoured Markdown table; cells are escaped for `|`. */
export function table(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const escape = (cell: string): string => cell.replaceAll('|', '\\|');
  const line = (cells: readonly string[]): string => `| ${cells.map(escape).join(' | ')} |`;
  const rule = columns.map((column) => (column.align === 'right' ? '---:' : ':---'));
  return [line(columns.map((column) => column.header)), `| ${rule.join(' | ')} |`, ...rows.map(line)].join('\n');
}

/** `12,345` */
export const int = (value: number): string => Math.round(value).toLocaleString('en-US');

/** `12.3` with `digits` decimals. */
export const fixed = (value: number, digits = 1): string => value.toFixed(digits);

/** `99.1%` of a ratio. */
export const percent = (ratio: number, digits = 1): string => `${(ratio * 100).toFixed(digits)}%`;

/** `+12 ms` / `-3 ms`: a signed duration. */
export const signedMs = (ms: number): string => `${ms >= 0 ? '+' : '−'}${Math.abs(Math.round(ms))} ms`;

/** `1.2 KiB`, `340 B`. */
export function bytes(value: number): string {
  if (Math.abs(value) >= 1024 * 1024) return `${(value / 1024 / 1024).toFixed(1)} MiB`;
  if (Math.abs(value) >= 1024) return `${(value / 1024).toFixed(2)} KiB`;
  return `${Math.round(value)} B`;
}

/** `low–high`, or one value when they are equal once formatted. */
export function range(low: string, high: string): string {
  return low === high ? low : `${low}–${high}`;
}

/**
 * A horizontal bar chart in a code block: one row per label, bars scaled between `from` and `to`
 * (a zoomed axis, stated under the chart so nobody reads it as starting at zero).
 */
export function barChart(
  rows: readonly { label: string; value: number; text: string }[],
  { from, to, width = 40 }: { from: number; to: number; width?: number },
): string {
  const labelWidth = Math.max(...rows.map((row) => row.label.length));
  const lines = rows.map((row) => {
    const share = Math.min(1, Math.max(0, (row.value - from) / (to - from)));
    const cells = Math.round(share * width);
    return `${row.label.padEnd(labelWidth)} ${'█'.repeat(cells)}${'·'.repeat(width - cells)} ${row.text}`;
  });
  return ['```text', ...lines, '```'].join('\n');
}

/** Wraps `text` at `width` columns (Markdown paragraphs stay readable in a terminal too). */
export function wrap(text: string, width = 110): string {
  const lines: string[] = [];
  let current = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (current !== '' && current.length + 1 + word.length > width) {
      lines.push(current);
      current = word;
    } else {
      current = current === '' ? word : `${current} ${word}`;
    }
  }
  if (current !== '') lines.push(current);
  return lines.join('\n');
}

/** `- item` lines, each wrapped with a hanging indent. */
export function bullets(items: readonly string[]): string {
  return items.map((item) => `- ${wrap(item, 108).replaceAll('\n', '\n  ')}`).join('\n');
}
