/** The README snippet extractor and the CommonJS conversion the consumer apps are built with. */
import { toCommonJs } from '../src/commonjs.js';
import { docSnippets, readmeSnippets, readmeTable } from '../src/readme.js';

const FENCE = '```';

describe('readmeSnippets', () => {
  test('names each ts/js block by the marker before it and skips other languages', () => {
    const markdown = [
      '# Title',
      '<!-- snippet: one -->',
      '',
      `${FENCE}ts`,
      'const a = 1;',
      FENCE,
      `${FENCE}sh`,
      'npm test',
      FENCE,
      '<!-- snippet: two -->',
      `${FENCE}js`,
      'b();',
      FENCE,
    ].join('\n');
    const snippets = readmeSnippets(markdown);
    expect([...snippets.values()]).toEqual([
      { name: 'one', lang: 'ts', code: 'const a = 1;\n', file: 'README.md', line: 4 },
      { name: 'two', lang: 'js', code: 'b();\n', file: 'README.md', line: 11 },
    ]);
  });

  test.each([
    ['a code block without a marker', [`${FENCE}ts`, 'x();', FENCE], /README.md:1: ```ts block without/],
    ['a marker before prose', ['<!-- snippet: a -->', 'text'], /"a" is not followed by a code block/],
    ['a marker at the end', ['<!-- snippet: a -->'], /"a" has no code block/],
    ['a marker on a shell block', ['<!-- snippet: a -->', `${FENCE}sh`, 'ls', FENCE], /marks a ```sh block/],
    [
      'a name used twice',
      ['<!-- snippet: a -->', `${FENCE}ts`, 'x();', FENCE, '<!-- snippet: a -->', `${FENCE}ts`, 'y();', FENCE],
      /"a" named twice/,
    ],
  ])('rejects %s', (_case, lines, error) => {
    expect(() => readmeSnippets(lines.join('\n'))).toThrow(error);
  });
});

describe('docSnippets', () => {
  test('reads every page, and an error names the page and the line', () => {
    const pages = [
      { file: 'README.md', text: ['<!-- snippet: one -->', `${FENCE}ts`, 'a();', FENCE].join('\n') },
      { file: 'docs/guide.md', text: ['# Guide', '', `${FENCE}js`, 'b();', FENCE].join('\n') },
    ];
    expect(() => docSnippets(pages)).toThrow(/^docs\/guide.md:3: ```js block without a "<!-- snippet: name -->" line/);
    pages[1]!.text = ['# Guide', '<!-- snippet: two -->', `${FENCE}js`, 'b();', FENCE].join('\n');
    expect([...docSnippets(pages).values()].map(({ name, file, line }) => `${name} ${file}:${line}`)).toEqual([
      'one README.md:2',
      'two docs/guide.md:3',
    ]);
  });

  test('takes one snippet shown on two pages once, and rejects one name for two different blocks', () => {
    const page = (file: string, code: string) => ({
      file,
      text: ['<!-- snippet: a -->', `${FENCE}ts`, code, FENCE].join('\n'),
    });
    const same = docSnippets([page('README.md', 'x();'), page('docs/a.md', 'x();')]);
    expect([...same.values()].map(({ name, file }) => `${name} ${file}`)).toEqual(['a README.md']);
    expect(() => docSnippets([page('README.md', 'x();'), page('docs/a.md', 'y();')])).toThrow(
      'docs/a.md:2: snippet "a" named twice with different code (also README.md:2)',
    );
  });
});

describe('readmeTable', () => {
  test('reads the first table under a heading, with escaped bars in cells', () => {
    const markdown = [
      '## Other',
      '| x |',
      '|---|',
      '| 1 |',
      '### Wanted',
      'Text.',
      '',
      '| A | B |',
      '| - | - |',
      '| `^1 \\|\\| ^2` | y |',
    ];
    expect(readmeTable(markdown.join('\n'), 'Wanted')).toEqual([{ A: '`^1 || ^2`', B: 'y' }]);
  });
});

describe('toCommonJs', () => {
  test('turns default and named imports into require() and leaves the rest', () => {
    const code =
      "import express from 'express';\nimport { graceful } from '@lameduck/express';\nconst app = express();\n";
    expect(toCommonJs(code)).toBe(
      "'use strict';\nconst express = require('express');\nconst { graceful } = require('@lameduck/express');\nconst app = express();\n",
    );
  });

  test('runs a body with top-level await inside an async function', () => {
    const converted = toCommonJs("import Fastify from 'fastify';\nawait Fastify().listen({ port: 0 });\n");
    expect(converted).toContain(
      "const Fastify = require('fastify');\n(async () => {\nawait Fastify().listen({ port: 0 });",
    );
    expect(converted).toContain('process.exitCode = 1;');
  });

  test('refuses an import form it does not convert', () => {
    expect(() => toCommonJs("import * as http from 'node:http';\n")).toThrow(
      /cannot convert to CommonJS: import \* as http/,
    );
  });
});
