/** The shape of the cluster package's sources: no import cycle (type-only imports included); types.ts imports nothing. */
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { importCycles, importGraph } from '@lameduck/test-utils';

const SRC = join(__dirname, '..', 'src');
const graph = importGraph(SRC);

test('the import graph is read: every relative import names a source file', () => {
  expect(graph.get(join(SRC, 'index.ts'))).toContain(join(SRC, 'cluster.ts'));
  for (const [file, imports] of graph) {
    for (const target of imports) expect([relative(SRC, file), graph.has(target)]).toEqual([relative(SRC, file), true]);
  }
});

test('no import cycle among the sources, type-only imports included', () => {
  expect(importCycles(graph, SRC)).toEqual([]);
});

test('types.ts, which the others share, imports nothing', () => {
  expect(readFileSync(join(SRC, 'types.ts'), 'utf8')).not.toMatch(/^\s*import\b/m);
});
