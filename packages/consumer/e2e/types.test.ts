/** The packages as a user's compiler gets them: packed tarballs (their contents), the docs' snippets type-checked against them. */
import fs from 'node:fs';
import path from 'node:path';
import { documentationPages } from '@lameduck/test-utils';
import { createInstalls } from '../src/installs.js';
import {
  typecheckInstalls,
  typesNodeVersions,
  typescriptVersions,
  TYPE_PRELUDES,
  WORKSPACE,
  type AppInstall,
} from '../src/matrix.js';
import { run } from '../src/npm.js';
import { docSnippets } from '../src/readme.js';

const snippets = docSnippets(documentationPages(WORKSPACE));
const { work, tarballs, installed, remove } = createInstalls();

function snippet(name: string): string {
  const found = snippets.get(name);
  if (!found) throw new Error(`neither README.md nor docs/ has a snippet "${name}"`);
  return found.code;
}

afterAll(remove);

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

describe("the docs' snippets type-check against the packed types (strict, skipLibCheck: false), with each @types/node major", () => {
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

  const CHECKS = typesNodeVersions().flatMap((typesNode) =>
    typecheckInstalls([...snippets.keys()], typesNode).flatMap((install) =>
      typescriptVersions().map((version) => ({
        install,
        version,
        label: `${install.snippets.join(', ')}: TypeScript ${version}, @types/node ${typesNode}`,
      })),
    ),
  );
  test.concurrent.each(CHECKS)(
    '$label',
    async ({ install, version }) => {
      let dir = prepared.get(install.name);
      if (!dir) prepared.set(install.name, (dir = typecheckDir(install)));
      const cwd = await dir;
      const tsc = path.join(cwd, 'node_modules', `typescript-${version}`, 'bin', 'tsc');
      expect(await run(process.execPath, [tsc, '--version'], { cwd })).toContain(`Version ${version}`);
      await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd });
      // Jest starts every concurrent check's clock at once, while their installs wait in one queue: the last
      // check's time includes the installs before it (on a loaded CI machine, past the 300 s of the others).
    },
    900_000,
  );
});

function readJson(dir: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
}
