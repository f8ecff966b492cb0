/** The shape of core's sources: no import cycle (type-only imports included), and types.ts imports nothing of ours. */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { importCycles, importGraph } from '@lameduck/test-utils';

const SRC = join(__dirname, '..', 'src');
const graph = importGraph(SRC);
const name = (file: string) => relative(SRC, file);

test('the import graph is read: every relative import names a source file', () => {
  expect(graph.size).toBeGreaterThan(10);
  for (const [file, imports] of graph) {
    for (const target of imports) expect([name(file), graph.has(target)]).toEqual([name(file), true]);
  }
  expect(graph.get(join(SRC, 'index.ts'))).toContain(join(SRC, 'lameduck.ts'));
});

test('no import cycle among the sources, type-only imports included', () => {
  expect(importCycles(graph, SRC)).toEqual([]);
});

test('types.ts, which every part imports, imports nothing of ours and nothing at runtime', () => {
  const types = join(SRC, 'types.ts');
  expect(graph.get(types)).toEqual([]);
  const imports = [...readFileSync(types, 'utf8').matchAll(/^import\b.*$/gm)].map((match) => match[0]);
  for (const line of imports) expect(line).toMatch(/^import type /);
});
