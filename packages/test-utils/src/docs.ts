/** The documentation a user reads (README.md, docs/, the packages' READMEs), for the tests that hold it to the code. */
import fs from 'node:fs';
import path from 'node:path';

/** One Markdown page: its path from the workspace root (with `/`), and its text. */
export interface Page {
  file: string;
  text: string;
}

/** README.md, every `.md` file under docs/ (sorted by path), then each package's README.md (what npm shows). */
export function documentationPages(root: string): Page[] {
  const docs = path.join(root, 'docs');
  const pages = fs.existsSync(docs)
    ? fs
        .readdirSync(docs, { recursive: true, encoding: 'utf8' })
        .filter((entry) => entry.endsWith('.md'))
        .map((entry) => path.posix.join('docs', entry.split(path.sep).join('/')))
        .sort()
    : [];
  const packages = fs
    .readdirSync(path.join(root, 'packages'))
    .map((name) => `packages/${name}/README.md`)
    .filter((file) => fs.existsSync(path.join(root, file)))
    .sort();
  return ['README.md', ...pages, ...packages].map((file) => ({
    file,
    text: fs.readFileSync(path.join(root, file), 'utf8'),
  }));
}

/**
 * The section of the one page that has the heading `heading` (exact text, any level): from that heading to
 * the next heading of the same or a higher level. Throws when no page, or more than one, has it.
 */
export function docSection(pages: Page[], heading: string): { file: string; line: number; text: string } {
  const found: { file: string; line: number; text: string }[] = [];
  for (const page of pages) {
    const lines = page.text.split('\n');
    let fenced = false;
    for (let i = 0; i < lines.length; i++) {
      if (lines[i]!.startsWith('```')) fenced = !fenced;
      const match = fenced ? null : /^(#+) (.*)$/.exec(lines[i]!);
      if (!match || match[2]!.trim() !== heading) continue;
      const level = match[1]!.length;
      let end = i + 1;
      let inner = false;
      for (; end < lines.length; end++) {
        if (lines[end]!.startsWith('```')) inner = !inner;
        const next = inner ? null : /^(#+) /.exec(lines[end]!);
        if (next && next[1]!.length <= level) break;
      }
      found.push({ file: page.file, line: i + 1, text: lines.slice(i, end).join('\n') });
    }
  }
  if (found.length !== 1) {
    const where = found.map((section) => `${section.file}:${section.line}`).join(', ');
    throw new Error(
      `the heading "${heading}" is in ${found.length} places of README.md and docs/ (${where || 'none'})`,
    );
  }
  return found[0]!;
}
