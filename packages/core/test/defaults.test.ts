/** The defaults documented in the README tables and in the JSDoc are the real ones: DEFAULTS. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULTS } from '@lameduck/core';

const ROOT = join(__dirname, '..', '..', '..');

function parseDefault(text: string): unknown {
  return text === 'undefined' ? undefined : JSON.parse(text);
}

/** `| \`name\` | type | \`default\` | meaning |` rows of the README's option tables. */
function readmeDefaults(): Map<string, unknown> {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const rows = new Map<string, unknown>();
  for (const line of readme.split('\n')) {
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
  ['README', readmeDefaults],
  ['JSDoc', jsdocDefaults],
])('every default documented in the %s is the one in DEFAULTS, and every option is documented', (_, read) => {
  const documented = read();
  expect([...documented.keys()].sort()).toEqual(Object.keys(DEFAULTS).sort());
  for (const [name, value] of documented) {
    expect([name, value]).toEqual([name, DEFAULTS[name as keyof typeof DEFAULTS]]);
  }
});
