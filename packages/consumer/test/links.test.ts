/** Every relative link of README.md and docs/ leads to a file that exists and, with a #anchor, to a heading in it. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { documentationPages } from '@lameduck/test-utils';
import { brokenLinks, headingSlugs } from '../src/links.js';
import { WORKSPACE } from '../src/matrix.js';

describe('headingSlugs', () => {
  test('makes anchors as GitHub does: lower case, punctuation dropped, spaces as hyphens, repeats numbered', () => {
    const markdown = [
      '# lameduck',
      '### Attach before `listen()`',
      '## `@lameduck/cluster`',
      '## node:cluster',
      '## Server-sent events (Express shown; the same signal everywhere)',
      '## Options',
      '## Options',
      '```sh',
      '# not a heading',
      '```',
    ].join('\n');
    expect([...headingSlugs(markdown)]).toEqual([
      'lameduck',
      'attach-before-listen',
      'lameduckcluster',
      'nodecluster',
      'server-sent-events-express-shown-the-same-signal-everywhere',
      'options',
      'options-1',
    ]);
  });
});

describe('brokenLinks', () => {
  test('names the page, the line and what is missing; leaves web links and code alone', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'lameduck-links-'));
    try {
      fs.mkdirSync(path.join(root, 'docs'));
      fs.writeFileSync(path.join(root, 'docs', 'a.md'), '# A\n\n## Part two\n');
      const pages = [
        {
          file: 'README.md',
          text: [
            '# Top',
            '[a](docs/a.md) [two](docs/a.md#part-two) [web](https://example.org/x.md) `[no](nowhere.md)`',
            '[gone](docs/b.md) [bad anchor](docs/a.md#part-three) [self](#top) [self, wrong](#bottom)',
          ].join('\n'),
        },
        { file: 'docs/a.md', text: '[up](../README.md#top) [out](../../x.md)' },
      ];
      fs.writeFileSync(path.join(root, 'README.md'), pages[0]!.text);
      expect(brokenLinks(pages, root)).toEqual([
        'README.md:3: docs/b.md (no such file: docs/b.md)',
        'README.md:3: docs/a.md#part-three (docs/a.md has no heading with that anchor)',
        'README.md:3: #bottom (README.md has no heading with that anchor)',
        'docs/a.md:1: ../../x.md (no such file: ../x.md)',
      ]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

test('every relative link in README.md and docs/ resolves, #anchors included', () => {
  const pages = documentationPages(WORKSPACE);
  expect(pages.length).toBeGreaterThan(10);
  expect(brokenLinks(pages, WORKSPACE)).toEqual([]);
});
