/** Turns an ES-module README snippet into the CommonJS a `require()` user would write. */

const DEFAULT_IMPORT = /^import (\w+) from ('[^']+');$/;
const NAMED_IMPORT = /^import (\{[^}]*\}) from ('[^']+');$/;

/**
 * `import x from 'm'` becomes `const x = require('m')`, `import { a } from 'm'` becomes
 * `const { a } = require('m')`; a body that uses `await` runs inside an async function, since
 * CommonJS has no top-level await. Any other import form throws, so a snippet this does not
 * understand fails loudly instead of being half converted.
 */
export function toCommonJs(code: string): string {
  const requires: string[] = [];
  const body: string[] = [];
  for (const line of code.split('\n')) {
    if (!line.startsWith('import ')) {
      body.push(line);
      continue;
    }
    const named = NAMED_IMPORT.exec(line);
    const plain = DEFAULT_IMPORT.exec(line);
    const match = named ?? plain;
    if (!match) throw new Error(`cannot convert to CommonJS: ${line}`);
    requires.push(`const ${match[1]} = require(${match[2]});`);
  }
  const text = body.join('\n');
  if (!/\bawait\b/.test(text)) return `'use strict';\n${requires.join('\n')}\n${text}`;
  return [
    `'use strict';`,
    ...requires,
    `(async () => {`,
    text,
    `})().catch((error) => {`,
    `  console.error(error);`,
    `  process.exitCode = 1;`,
    `});`,
    ``,
  ].join('\n');
}
