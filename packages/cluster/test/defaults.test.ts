/** The defaults in the docs' createCluster() table and in the JSDoc are the real ones: CLUSTER_DEFAULTS. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLUSTER_DEFAULTS } from '@lameduck/cluster';
import { docSection, documentationPages } from '@lameduck/test-utils';

const ROOT = join(__dirname, '..', '..', '..');
const EXPECTED = { workers: 'os.availableParallelism()', logger: undefined, ...CLUSTER_DEFAULTS };

function parseDefault(text: string): unknown {
  return text === 'undefined' || /^[\w.]+\(\)$/.test(text)
    ? text === 'undefined'
      ? undefined
      : text
    : JSON.parse(text);
}

test("the docs' table of createCluster() options shows CLUSTER_DEFAULTS", () => {
  const section = docSection(documentationPages(ROOT), '`createCluster(options)`');
  const rows = new Map<string, unknown>();
  for (const line of section.text.split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim());
    const name = /^`(\w+)`$/.exec(cells[1] ?? '')?.[1];
    const value = /^`(.+)`$/.exec(cells[3] ?? '')?.[1];
    if (name !== undefined && value !== undefined && !rows.has(name)) rows.set(name, parseDefault(value));
  }
  expect(Object.fromEntries(rows)).toEqual(EXPECTED);
});

test('the JSDoc @default of every option is CLUSTER_DEFAULTS', () => {
  const source = readFileSync(join(ROOT, 'packages', 'cluster', 'src', 'options.ts'), 'utf8');
  const found = new Map<string, unknown>();
  for (const match of source.matchAll(/@default (.+)\n(?:\s*\*.*\n)*?\s*\*\/\n\s*(\w+)\?:/g)) {
    found.set(match[2]!, parseDefault(match[1]!.trim()));
  }
  expect(Object.fromEntries(found)).toEqual(EXPECTED);
});
