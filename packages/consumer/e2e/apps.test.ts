/** The packages as a user gets them: packed tarballs, npm-installed outside the workspace, the docs' snippets as apps. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { documentationPages } from '@lameduck/test-utils';
import { get, startApp } from '../src/app.js';
import { toCommonJs } from '../src/commonjs.js';
import {
  appInstalls,
  runnable,
  typecheckInstalls,
  BUILT_SNIPPETS,
  NEST_COMPILER_OPTIONS,
  typescriptVersions,
  TYPE_PRELUDES,
  WORKSPACE,
  type AppInstall,
} from '../src/matrix.js';
import { npmInstall, packWorkspace, run } from '../src/npm.js';
import { docSnippets } from '../src/readme.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lameduck-consumer-'));
const snippets = docSnippets(documentationPages(WORKSPACE));

function snippet(name: string): string {
  const found = snippets.get(name);
  if (!found) throw new Error(`neither README.md nor docs/ has a snippet "${name}"`);
  return found.code;
}

let packed: Promise<Map<string, string>> | undefined;
const tarballs = () => (packed ??= packWorkspace(path.join(work, 'tarballs')));

/** npm installs run four at a time: each spends most of its time waiting on the network. */
const INSTALLS_AT_ONCE = 4;
let running = 0;
const queue: (() => void)[] = [];
async function slot<T>(job: () => Promise<T>): Promise<T> {
  // A finished job hands its slot straight to the next in line, so no newcomer can take it in between.
  if (running >= INSTALLS_AT_ONCE) await new Promise<void>((resolve) => queue.push(resolve));
  else running++;
  try {
    return await job();
  } finally {
    const next = queue.shift();
    if (next) next();
    else running--;
  }
}

const installs = new Map<string, Promise<string>>();
function installed(install: AppInstall): Promise<string> {
  let done = installs.get(install.name);
  if (!done) {
    const dir = path.join(work, install.name);
    done = tarballs().then((files) => slot(() => npmInstall(dir, install, files)).then(() => dir));
    installs.set(install.name, done);
  }
  return done;
}

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('the tarballs', () => {
  test('hold both builds, the README, the CHANGELOG, the LICENSE, and a manifest without workspace: ranges', async () => {
    for (const [name, file] of await tarballs()) {
      const files = (await run('tar', ['-tzf', file], { cwd: work })).split('\n');
      const expectedFiles = [
        'package.json',
        'README.md',
        'CHANGELOG.md',
        'LICENSE',
        'dist/esm/index.js',
        'dist/cjs/index.js',
      ];
      for (const expected of expectedFiles) {
        expect({ name, has: expected, found: files.includes(`package/${expected}`) }).toEqual({
          name,
          has: expected,
          found: true,
        });
      }
      const manifest = await run('tar', ['-xzOf', file, 'package/package.json'], { cwd: work });
      expect({ name, workspaceRange: manifest.includes('workspace:') }).toEqual({ name, workspaceRange: false });
      expect({ name, license: (JSON.parse(manifest) as { license?: string }).license }).toEqual({
        name,
        license: 'MIT',
      });
    }
  });
});

describe("the docs' snippets type-check against the packed types (strict, skipLibCheck: false)", () => {
  const prepared = new Map<string, Promise<string>>();
  /** An install with the tsconfig a strict user has, and each of its snippets as a module after its prelude. */
  async function typecheckDir(install: AppInstall): Promise<string> {
    const dir = await installed(install);
    fs.writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          skipLibCheck: false,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          noEmit: true,
          types: ['node'],
          ...install.compilerOptions,
        },
        include: ['snippets/*.ts'],
      }),
    );
    // ES modules, so that the snippets' top-level await type-checks as it runs.
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ ...readJson(dir), type: 'module' }));
    fs.mkdirSync(path.join(dir, 'snippets'), { recursive: true });
    for (const name of install.snippets) {
      const prelude = TYPE_PRELUDES[name];
      if (prelude === undefined) throw new Error(`snippet "${name}" has no entry in TYPE_PRELUDES`);
      fs.writeFileSync(path.join(dir, 'snippets', `${name}.ts`), `${prelude}${snippet(name)}\nexport {};\n`);
    }
    return dir;
  }

  const CHECKS = typecheckInstalls([...snippets.keys()]).flatMap((install) =>
    typescriptVersions().map((version) => ({
      install,
      version,
      label: `${install.snippets.join(', ')}: TypeScript ${version}`,
    })),
  );
  test.concurrent.each(CHECKS)('$label', async ({ install, version }) => {
    let dir = prepared.get(install.name);
    if (!dir) prepared.set(install.name, (dir = typecheckDir(install)));
    const cwd = await dir;
    const tsc = path.join(cwd, 'node_modules', `typescript-${version}`, 'bin', 'tsc');
    expect(await run(process.execPath, [tsc, '--version'], { cwd })).toContain(`Version ${version}`);
    await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd });
  });
});

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

describe("the docs' snippets as apps, from the packed tarballs", () => {
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

describe('the README’s Nest snippet as a Nest project, built with tsc, from the packed tarballs', () => {
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

function readJson(dir: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
}
