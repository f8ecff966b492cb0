/** The packages as a user runs them: packed tarballs npm-installed outside the workspace, README snippets as apps, on this Node. */
import fs from 'node:fs';
import path from 'node:path';
import { get, startApp } from '../src/app.js';
import { toCommonJs } from '../src/commonjs.js';
import { createInstalls } from '../src/installs.js';
import { appInstalls, runnable, WORKSPACE } from '../src/matrix.js';
import { readmeSnippets } from '../src/readme.js';

const snippets = readmeSnippets(fs.readFileSync(path.join(WORKSPACE, 'README.md'), 'utf8'));
const { installed, remove } = createInstalls();

function snippet(name: string): string {
  const found = snippets.get(name);
  if (!found) throw new Error(`README.md has no snippet "${name}"`);
  return found.code;
}

afterAll(remove);

const RUNS = appInstalls().flatMap((install) =>
  install.snippets.flatMap((name) =>
    (['esm', 'cjs'] as const).map((format) => ({
      install,
      name,
      format,
      label: `${name} (${format}) with ${install.name}`,
    })),
  ),
);

describe(`README snippets as apps, from the packed tarballs, on Node ${process.version}`, () => {
  test.concurrent.each(RUNS)('$label: serves, drains on SIGTERM, exits 0', async ({ install, name, format }) => {
    const dir = await installed(install);
    const file = `${name}.${format === 'esm' ? 'mjs' : 'cjs'}`;
    const code = runnable(name, snippet(name));
    fs.writeFileSync(path.join(dir, file), format === 'esm' ? code : toCommonJs(code));

    const app = await startApp(dir, file);
    try {
      const hello = await get(app.port, '/');
      expect({ status: hello.status, body: hello.body }).toEqual({ status: 200, body: 'hello' });
      expect((await get(app.port, '/readyz')).status).toBe(200);

      app.process.kill('SIGTERM');
      await app.line('shutdown started');
      // The lame-duck phase: readiness fails, requests are still served, each with Connection: close.
      expect((await get(app.port, '/readyz')).status).toBe(503);
      const during = await get(app.port, '/');
      expect({ status: during.status, connection: during.headers.connection }).toEqual({
        status: 200,
        connection: 'close',
      });

      await app.line('shutdown complete');
      expect(await app.exited).toEqual({ code: 0, signal: null });
    } catch (error) {
      throw new Error(`${String(error)}\n--- ${file} printed:\n${app.output()}`, { cause: error });
    } finally {
      app.process.kill('SIGKILL');
      await app.exited;
    }
  });
});
