/** The defaults documented in the option tables (README.md, docs/) and in the JSDoc are the real ones: DEFAULTS. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULTS } from '@lameduck/core';
import { documentationPages } from '@lameduck/test-utils';

const ROOT = join(__dirname, '..', '..', '..');

function parseDefault(text: string): unknown {
  return text === 'undefined' ? undefined : JSON.parse(text);
}

/** `| \`name\` | type | \`default\` | meaning |` rows of the option tables on every page of the docs. */
function tableDefaults(): Map<string, unknown> {
  const rows = new Map<string, unknown>();
  for (const line of documentationPages(ROOT).flatMap((page) => page.text.split('\n'))) {
    const cells = line.split(/(?<!\\)\|/).map((cell) => cell.trim());
    const name = /^`(\w+)`$/.exec(cells[1] ?? '')?.[1];
    const value = /^`(.+)`$/.exec(cells[3] ?? '')?.[1];
    if (name !== undefined && value !== undefined && name in DEFAULTS) rows.set(name, parseDefault(value));
  }
  return rows;
}

/** `@default X` followed by the `name?:` it documents, in the options' source. */
function jsdocDefaults(): Map<string, unknown> {
  const source = ['options.ts', 'adapter.ts']
    .map((file) => readFileSync(join(ROOT, 'packages', 'core', 'src', file), 'utf8'))
    .join('\n');
  const found = new Map<string, unknown>();
  for (const match of source.matchAll(/@default (.+)\n(?:\s*\*.*\n)*?\s*\*\/\n\s*(\w+)\?:/g)) {
    found.set(match[2]!, parseDefault(match[1]!.trim()));
  }
  return found;
}

test.each([
  ['option tables of README.md and docs/', tableDefaults],
  ['JSDoc', jsdocDefaults],
])('every default documented in the %s is the one in DEFAULTS, and every option is documented', (_, read) => {
  const documented = read();
  expect([...documented.keys()].sort()).toEqual(Object.keys(DEFAULTS).sort());
  for (const [name, value] of documented) {
    expect([name, value]).toEqual([name, DEFAULTS[name as keyof typeof DEFAULTS]]);
  }
});
