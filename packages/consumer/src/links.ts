/** The relative links of the docs (README.md, docs/), and whether each leads to a file and a heading that exist. */
import fs from 'node:fs';
import path from 'node:path';

/** A page as the docs tests read it: its path from the workspace root, and its text. */
interface Page {
  file: string;
  text: string;
}

/** The text of `markdown` outside fenced code blocks, line by line; fence lines become empty. */
function prose(markdown: string): string[] {
  let fenced = false;
  return markdown.split('\n').map((line) => {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      return '';
    }
    return fenced ? '' : line;
  });
}

/**
 * The anchors GitHub gives the headings of `markdown`: lower case, punctuation (backticks, slashes, colons,
 * dots, parentheses) removed, each space a hyphen; a repeated slug gets `-1`, `-2`….
 */
export function headingSlugs(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const slugs = new Set<string>();
  for (const line of prose(markdown)) {
    const heading = /^#{1,6} (.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const base = heading
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/<[^>]+>/g, '')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    slugs.add(count === 0 ? base : `${base}-${count}`);
  }
  return slugs;
}

/** `file:line: target (why)` for every relative link of `pages` that does not resolve, from `root`. */
export function brokenLinks(pages: Page[], root: string): string[] {
  const broken: string[] = [];
  const slugsOf = new Map<string, Set<string>>();
  const slugs = (file: string) => {
    let found = slugsOf.get(file);
    if (!found) slugsOf.set(file, (found = headingSlugs(fs.readFileSync(path.join(root, file), 'utf8'))));
    return found;
  };
  for (const page of pages) {
    prose(page.text).forEach((line, i) => {
      const text = line.replace(/`[^`]*`/g, '');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target!)) continue; // https:, mailto:
        const [link, anchor] = target!.split('#') as [string, string | undefined];
        const file =
          link === '' ? page.file : path.posix.normalize(path.posix.join(path.posix.dirname(page.file), link));
        const where = `${page.file}:${i + 1}: ${target}`;
        if (file.startsWith('..') || !fs.existsSync(path.join(root, file))) {
          broken.push(`${where} (no such file: ${file})`);
        } else if (anchor !== undefined) {
          if (!file.endsWith('.md')) broken.push(`${where} (an anchor into ${file}, which is not Markdown)`);
          else if (!slugs(file).has(anchor)) broken.push(`${where} (${file} has no heading with that anchor)`);
        }
      }
    });
  }
  return broken;
}
