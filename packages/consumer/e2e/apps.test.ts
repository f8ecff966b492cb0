/** The packages as a user runs them: packed tarballs npm-installed outside the workspace, the docs' snippets as apps, on this Node. */
import fs from 'node:fs';
import path from 'node:path';
import { documentationPages } from '@lameduck/test-utils';
import { get, startApp } from '../src/app.js';
import { toCommonJs } from '../src/commonjs.js';
import { createInstalls } from '../src/installs.js';
import { appInstalls, runnable, BUILT_SNIPPETS, NEST_COMPILER_OPTIONS, WORKSPACE } from '../src/matrix.js';
import { run } from '../src/npm.js';
import { docSnippets } from '../src/readme.js';

const snippets = docSnippets(documentationPages(WORKSPACE));
const { installed, remove } = createInstalls();

function snippet(name: string): string {
  const found = snippets.get(name);
  if (!found) throw new Error(`neither README.md nor docs/ has a snippet "${name}"`);
  return found.code;
}

afterAll(remove);

const RUNS = appInstalls().flatMap((install) =>
  install.snippets
    .filter((name) => !BUILT_SNIPPETS.includes(name))
    .flatMap((name) =>
      (['esm', 'cjs'] as const).map((format) => ({
        install,
        name,
        format,
        label: `${name} (${format}) with ${install.name}`,
      })),
    ),
);

describe(`the docs' snippets as apps, from the packed tarballs, on Node ${process.version}`, () => {
  test.concurrent.each(RUNS)('$label: serves, drains on SIGTERM, exits 0', async ({ install, name, format }) => {
    const dir = await installed(install);
    const file = `${name}.${format === 'esm' ? 'mjs' : 'cjs'}`;
    const code = runnable(name, snippet(name));
    fs.writeFileSync(path.join(dir, file), format === 'esm' ? code : toCommonJs(code));

    await servesAndDrains(dir, file);
  });
});

/** The app serves `hello` and readiness, then on SIGTERM: readiness 503, requests served with Connection: close, exit 0. */
async function servesAndDrains(dir: string, file: string): Promise<void> {
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
}

/** Nest's tsconfig for each format, as `nest new` (CommonJS) or an ES-module project has it. */
const NEST_FORMATS = {
  esm: { type: 'module', compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext' } },
  cjs: { type: 'commonjs', compilerOptions: { module: 'commonjs', moduleResolution: 'node10' } },
} as const;

/** The README's Nest snippet as a project of its own in `dir/<sub>`: src/main.ts, built by the app's tsc into dist/. */
async function buildNest(
  dir: string,
  sub: string,
  format: keyof typeof NEST_FORMATS,
  compilerOptions: Record<string, unknown>,
): Promise<string> {
  const project = path.join(dir, sub);
  fs.mkdirSync(path.join(project, 'src'), { recursive: true });
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ type: NEST_FORMATS[format].type }));
  fs.writeFileSync(path.join(project, 'src', 'main.ts'), runnable('nestjs', snippet('nestjs')));
  fs.writeFileSync(
    path.join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        skipLibCheck: false,
        target: 'es2022',
        outDir: 'dist',
        rootDir: 'src',
        types: ['node'],
        ...NEST_FORMATS[format].compilerOptions,
        ...compilerOptions,
      },
      include: ['src'],
    }),
  );
  await run(process.execPath, [path.join(dir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], {
    cwd: project,
  });
  return project;
}

const NEST_RUNS = appInstalls()
  .filter((install) => install.snippets.includes('nestjs'))
  .flatMap((install) =>
    (['esm', 'cjs'] as const).map((format) => ({ install, format, label: `nestjs (${format}) with ${install.name}` })),
  );

describe(`the README’s Nest snippet as a Nest project, built with tsc, from the packed tarballs, on Node ${process.version}`, () => {
  test.concurrent.each(NEST_RUNS)('$label: serves, drains on SIGTERM, exits 0', async ({ install, format }) => {
    const dir = await installed(install);
    const project = await buildNest(dir, format, format, NEST_COMPILER_OPTIONS);
    await servesAndDrains(project, 'dist/main.js');
  });

  test.concurrent.each(NEST_RUNS)(
    '$label: without experimentalDecorators tsc refuses it; without emitDecoratorMetadata GET / fails',
    async ({ install, format }) => {
      const dir = await installed(install);
      // Without experimentalDecorators, tsc refuses Nest's decorators.
      await expect(buildNest(dir, `${format}-no-decorators`, format, {})).rejects.toThrow(/error TS/);
      // Without emitDecoratorMetadata it builds and starts, but Nest cannot see what AppController's
      // constructor takes: it gets no Greeter, and GET / fails.
      const project = await buildNest(dir, `${format}-no-metadata`, format, { experimentalDecorators: true });
      const app = await startApp(project, 'dist/main.js');
      try {
        expect((await get(app.port, '/')).status).toBe(500);
      } finally {
        app.process.kill('SIGKILL');
        await app.exited;
      }
    },
  );
});
