/** The shape of core's sources: no import cycle (type-only imports included), and types.ts imports nothing of ours. */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SRC = join(__dirname, '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

/** Every relative module a file imports or re-exports, `import type` included. */
function importsOf(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  const specifiers = [...source.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+'(\.{1,2}\/[^']+)'/gms)].map(
    (match) => match[1]!,
  );
  return specifiers.map((specifier) => resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
}

const files = sourceFiles(SRC);
const graph = new Map(files.map((file) => [file, importsOf(file)]));
const name = (file: string) => relative(SRC, file);

test('the import graph is read: every relative import names a source file', () => {
  expect(files.length).toBeGreaterThan(10);
  for (const [file, imports] of graph) {
    for (const target of imports) expect([name(file), graph.has(target)]).toEqual([name(file), true]);
  }
  expect(graph.get(join(SRC, 'index.ts'))).toContain(join(SRC, 'lameduck.ts'));
});

test('no import cycle among the sources, type-only imports included', () => {
  const cycles: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (file: string, path: string[]): void => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'visiting') {
      cycles.push([...path.slice(path.indexOf(file)), file].map(name).join(' -> '));
      return;
    }
    state.set(file, 'visiting');
    for (const target of graph.get(file) ?? []) visit(target, [...path, file]);
    state.set(file, 'done');
  };
  for (const file of files) visit(file, []);
  expect(cycles).toEqual([]);
});

test('types.ts, which every part imports, imports nothing of ours and nothing at runtime', () => {
  const types = join(SRC, 'types.ts');
  expect(graph.get(types)).toEqual([]);
  const imports = [...readFileSync(types, 'utf8').matchAll(/^import\b.*$/gm)].map((match) => match[0]);
  for (const line of imports) expect(line).toMatch(/^import type /);
});
