/** Reads the documentation (README.md, docs/) the way the consumer apps need it: its named code snippets and its tables. */

/** A fenced code block named by the `<!-- snippet: name -->` comment on the line before it. */
export interface Snippet {
  name: string;
  /** The fence's language: `ts` or `js`. */
  lang: string;
  code: string;
  /** The page it is on, from the workspace root: `README.md`, `docs/options.md`. */
  file: string;
  /** 1-based line of the opening fence, for error messages. */
  line: number;
}

/** Languages whose blocks are code a user copies, so each must be named and tested. */
const CODE_LANGS = new Set(['ts', 'typescript', 'js', 'javascript']);
const MARKER = /^<!-- snippet: ([a-z0-9-]+) -->$/;
const FENCE = /^```(\S*)\s*$/;

/**
 * Every TypeScript/JavaScript block of `markdown`, by name. A code block without a marker, a marker
 * not followed by a code block, and a name used twice are errors: a snippet nobody tests cannot slip in.
 */
export function readmeSnippets(markdown: string, file = 'README.md'): Map<string, Snippet> {
  const lines = markdown.split('\n');
  const snippets = new Map<string, Snippet>();
  let pending: { name: string; line: number } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!.trim();
    const marker = MARKER.exec(text);
    if (marker) {
      if (pending) throw new Error(`${file}:${pending.line}: snippet marker "${pending.name}" has no code block`);
      pending = { name: marker[1]!, line: i + 1 };
      continue;
    }
    const fence = FENCE.exec(text);
    if (!fence) {
      if (pending && text !== '') {
        throw new Error(`${file}:${pending.line}: snippet marker "${pending.name}" is not followed by a code block`);
      }
      continue;
    }
    const lang = fence[1]!;
    const end = lines.findIndex((candidate, j) => j > i && candidate.trim() === '```');
    if (end === -1) throw new Error(`${file}:${i + 1}: code block never closed`);
    if (CODE_LANGS.has(lang)) {
      if (!pending) {
        throw new Error(`${file}:${i + 1}: \`\`\`${lang} block without a "<!-- snippet: name -->" line before it`);
      }
      if (snippets.has(pending.name)) throw new Error(`${file}:${pending.line}: snippet "${pending.name}" named twice`);
      snippets.set(pending.name, {
        name: pending.name,
        lang,
        code: lines.slice(i + 1, end).join('\n') + '\n',
        file,
        line: i + 1,
      });
    } else if (pending) {
      throw new Error(`${file}:${pending.line}: snippet "${pending.name}" marks a \`\`\`${lang} block, not code`);
    }
    pending = undefined;
    i = end;
  }
  if (pending) throw new Error(`${file}:${pending.line}: snippet marker "${pending.name}" has no code block`);
  return snippets;
}

/**
 * The snippets of every page, by name. A snippet may be shown on several pages (a framework's in the README and on
 * its page) under one name only if its code is the same everywhere; one name for two different blocks is an error.
 */
export function docSnippets(pages: { file: string; text: string }[]): Map<string, Snippet> {
  const all = new Map<string, Snippet>();
  for (const page of pages) {
    for (const [name, snippet] of readmeSnippets(page.text, page.file)) {
      const other = all.get(name);
      if (other && other.code !== snippet.code) {
        throw new Error(
          `${snippet.file}:${snippet.line}: snippet "${name}" named twice with different code (also ${other.file}:${other.line})`,
        );
      }
      if (!other) all.set(name, snippet);
    }
  }
  return all;
}

/** The first table after the heading `heading` (exact text, any level), as rows keyed by column title. */
export function readmeTable(markdown: string, heading: string, file = 'README.md'): Record<string, string>[] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => /^#+ /.test(line) && line.replace(/^#+ /, '').trim() === heading);
  if (start === -1) throw new Error(`${file} has no heading "${heading}"`);
  const first = lines.findIndex((line, i) => i > start && line.startsWith('|'));
  const next = lines.findIndex((line, i) => i > start && /^#+ /.test(line));
  if (first === -1 || (next !== -1 && next < first)) throw new Error(`${file}: no table under "${heading}"`);
  const rows: string[][] = [];
  for (let i = first; i < lines.length && lines[i]!.startsWith('|'); i++) rows.push(cells(lines[i]!));
  const [titles, , ...body] = rows;
  return body.map((row) => Object.fromEntries(titles!.map((title, i) => [title, row[i] ?? ''])));
}

/** A table row's cells, trimmed; `\|` inside a cell is a literal bar. */
function cells(row: string): string[] {
  return row
    .replace(/^\||\|$/g, '')
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim().replaceAll('\\|', '|'));
}
