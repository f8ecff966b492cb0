/** The defaults in the docs' drainSocketIo() table and in its JSDoc are the real ones: SOCKET_IO_DEFAULTS. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SOCKET_IO_DEFAULTS } from '@lameduck/core';
import { docSection, documentationPages } from '@lameduck/test-utils';

const ROOT = join(__dirname, '..', '..', '..');

test("the docs' table of drainSocketIo() options shows SOCKET_IO_DEFAULTS", () => {
  const section = docSection(documentationPages(ROOT), '`drainSocketIo(lameduck, io, options)`');
  const rows = new Map<string, unknown>();
  for (const line of section.text.split('\n')) {
    const cells = line.split(/(?<!\\)\|/).map((cell) => cell.trim());
    const name = /^`(\w+)`$/.exec(cells[1] ?? '')?.[1];
    const value = /^`(.+)`$/.exec(cells[3] ?? '')?.[1];
    if (name !== undefined && value !== undefined) rows.set(name, JSON.parse(value));
  }
  expect(Object.fromEntries(rows)).toEqual(SOCKET_IO_DEFAULTS);
});

test('the JSDoc @default of every drainSocketIo() option is SOCKET_IO_DEFAULTS', () => {
  const source = readFileSync(join(ROOT, 'packages', 'core', 'src', 'integrations', 'socket-io.ts'), 'utf8');
  const found = new Map<string, unknown>();
  for (const match of source.matchAll(/@default (.+)\n(?:\s*\*.*\n)*?\s*\*\/\n\s*(\w+)\?:/g)) {
    found.set(match[2]!, JSON.parse(match[1]!.trim()));
  }
  expect(Object.fromEntries(found)).toEqual(SOCKET_IO_DEFAULTS);
});
