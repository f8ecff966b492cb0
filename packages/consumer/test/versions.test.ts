/** What the packages claim (peer ranges, engines, the docs' versions table) matches what CI tests. */
import fs from 'node:fs';
import path from 'node:path';
import graceful from '@lameduck/fastify';
import { docSection, documentationPages } from '@lameduck/test-utils';
import semver from 'semver';
import {
  ADAPTERS,
  appInstalls,
  conformanceVersions,
  FRAMEWORKS,
  grpcVersions,
  NEST_PACKAGES,
  nestVersions,
  publishedPackages,
  rangeEnds,
  readManifest,
  SERVERS,
  RUN_PRELUDES,
  typecheckInstalls,
  typescriptVersions,
  TYPE_PRELUDES,
  typesNodeVersions,
  WORKSPACE,
} from '../src/matrix.js';
import { docSnippets, readmeTable } from '../src/readme.js';

const PAGES = documentationPages(WORKSPACE);

/** The Node versions `.ci/run` installs and runs the suite on (its NODE_VERSIONS line), ascending. */
function ciNodeVersions(): string[] {
  const script = fs.readFileSync(path.join(WORKSPACE, '.ci/run'), 'utf8');
  const line = /^NODE_VERSIONS="([^"]+)"$/m.exec(script);
  if (!line) throw new Error('.ci/run has no NODE_VERSIONS="…" line');
  return semver.sort(line[1]!.split(' '));
}

/** The range the tests prove: from the oldest tested version of each major to the end of that major. */
function provenRange(versions: string[]): string {
  const oldest = new Map<number, string>();
  for (const version of semver.sort([...versions])) {
    if (!oldest.has(semver.major(version))) oldest.set(semver.major(version), version);
  }
  return [...oldest.values()].map((version) => `^${version}`).join(' || ');
}

describe('peer ranges', () => {
  test.each(FRAMEWORKS)(
    '%s: the adapter peers on exactly the majors and minimums the conformance suite runs',
    (framework) => {
      const versions = conformanceVersions(framework);
      expect(versions.length).toBeGreaterThan(0);
      const range = readManifest(path.join(WORKSPACE, 'packages', framework)).peerDependencies?.[framework];
      expect(range).toBe(provenRange(versions));
      for (const version of versions) expect(semver.satisfies(version, range!)).toBe(true);
    },
  );

  test.each(Object.entries(SERVERS))(
    '%s: the adapter peers on exactly the majors and minimums of %s the conformance suite runs',
    (framework, server) => {
      const versions = conformanceVersions(server);
      expect(versions.length).toBeGreaterThan(1);
      const range = readManifest(path.join(WORKSPACE, 'packages', framework)).peerDependencies?.[server];
      expect(range).toBe(provenRange(versions));
    },
  );

  test("fastify-plugin's metadata (checked by Fastify at register()) is the peer range", () => {
    const meta = (graceful as unknown as Record<symbol, { fastify?: string }>)[Symbol.for('plugin-meta')];
    expect(meta?.fastify).toBe(readManifest(path.join(WORKSPACE, 'packages/fastify')).peerDependencies?.['fastify']);
  });

  test('@lameduck/nestjs peers on @nestjs/common and @nestjs/core: the majors and minimums its tests run', () => {
    const versions = nestVersions();
    expect(versions.map((version) => semver.major(version))).toEqual([11, 12]);
    const manifest = readManifest(path.join(WORKSPACE, 'packages/nestjs'));
    const peers = manifest.peerDependencies!;
    expect(peers).toMatchObject({ '@nestjs/common': provenRange(versions), '@nestjs/core': provenRange(versions) });
    // Nest's own packages move together: the apart install pins one version for all of them but Fastify's platform.
    const apart = readManifest(path.join(WORKSPACE, 'packages/nestjs/test/nest-12')).dependencies!;
    for (const name of NEST_PACKAGES) expect(apart[name]).toBe(versions.at(-1));
  });

  test('@lameduck/nestjs/grpc: @nestjs/microservices and @lameduck/grpc are optional peers, the first on the versions its tests run', () => {
    const manifest = readManifest(path.join(WORKSPACE, 'packages/nestjs')) as ReturnType<typeof readManifest> & {
      peerDependenciesMeta?: Record<string, { optional?: boolean }>;
    };
    const tested = [
      manifest.devDependencies!['@nestjs/microservices']!,
      readManifest(path.join(WORKSPACE, 'packages/nestjs/test/nest-12')).dependencies!['@nestjs/microservices']!,
    ];
    expect(tested.map((version) => semver.major(version))).toEqual([11, 12]);
    expect(Object.keys(manifest.peerDependencies!).sort()).toEqual([
      '@lameduck/grpc',
      '@nestjs/common',
      '@nestjs/core',
      '@nestjs/microservices',
    ]);
    expect(manifest.peerDependencies!['@nestjs/microservices']).toBe(provenRange(tested));
    expect(manifest.peerDependencies!['@lameduck/grpc']).toBe('workspace:^');
    expect(manifest.peerDependenciesMeta).toEqual({
      '@lameduck/grpc': { optional: true },
      '@nestjs/microservices': { optional: true },
    });
  });

  test('@lameduck/grpc peers on @grpc/grpc-js and grpc-health-check: the oldest version its tests run to the end of that major', () => {
    const manifest = readManifest(path.join(WORKSPACE, 'packages/grpc'));
    expect(grpcVersions().map((version) => semver.major(version))).toEqual([1, 1]);
    expect(manifest.peerDependencies!['@grpc/grpc-js']).toBe(provenRange(grpcVersions()));
    expect(manifest.peerDependencies!['grpc-health-check']).toBe(
      provenRange([manifest.devDependencies!['grpc-health-check']!]),
    );
    expect(manifest.dependencies?.['@lameduck/core']).toBe('workspace:^');
  });

  test('adapters depend on core through workspace:^, which pnpm pack turns into a real range', () => {
    for (const framework of [...FRAMEWORKS, 'nestjs']) {
      expect(readManifest(path.join(WORKSPACE, 'packages', framework)).dependencies?.['@lameduck/core']).toBe(
        'workspace:^',
      );
    }
  });

  test('the consumer apps install the oldest and newest tested version of each major, inside the peer range', () => {
    for (const framework of FRAMEWORKS) {
      const installs = appInstalls().filter((install) => install.packages.includes(ADAPTERS[framework]));
      const installed = [...new Set(installs.map((install) => install.dependencies[0]!.replace(`${framework}@`, '')))];
      expect(installed).toEqual(rangeEnds(conformanceVersions(framework)));
      const server = SERVERS[framework];
      if (server !== undefined) {
        const servers = installs.map((install) => install.dependencies[1]!.replace(`${server}@`, ''));
        expect(servers).toEqual(rangeEnds(conformanceVersions(server)));
      }
      const range = readManifest(path.join(WORKSPACE, 'packages', framework)).peerDependencies![framework]!;
      for (const version of installed) expect(semver.satisfies(version, range)).toBe(true);
    }
    const nest = appInstalls()
      .filter((install) => install.packages.includes('@lameduck/nestjs'))
      .map((install) => install.dependencies.find((spec) => spec.startsWith('@nestjs/core@'))!.split('@')[2]!);
    expect(nest).toEqual(rangeEnds(nestVersions()));
  });
});

describe('engines', () => {
  /** The root and every workspace package (pnpm-workspace.yaml's globs are all `dir/*` or `dir`). */
  function workspaceDirs(): string[] {
    const globs = fs
      .readFileSync(path.join(WORKSPACE, 'pnpm-workspace.yaml'), 'utf8')
      .split('\n')
      .map((line) => /^\s+- (\S+)$/.exec(line)?.[1])
      .filter((glob): glob is string => glob !== undefined && !glob.includes('@'));
    const dirs = globs.flatMap((glob) => {
      if (!glob.endsWith('/*')) return [path.join(WORKSPACE, glob)];
      const parent = path.join(WORKSPACE, glob.slice(0, -2));
      return fs.readdirSync(parent).map((entry) => path.join(parent, entry));
    });
    return [WORKSPACE, ...dirs.filter((dir) => fs.existsSync(path.join(dir, 'package.json')))];
  }

  test('engines.node starts at the oldest Node version CI runs the suite on, one per major', () => {
    const versions = ciNodeVersions();
    expect(versions.length).toBeGreaterThan(1);
    expect(new Set(versions.map((version) => semver.major(version))).size).toBe(versions.length);
    expect(readManifest(WORKSPACE).engines?.node).toBe(`>=${versions[0]}`);
  });

  test('the snippets type-check with the @types/node of each Node major CI runs', () => {
    expect(typesNodeVersions().map((version) => semver.major(version))).toEqual(
      ciNodeVersions().map((version) => semver.major(version)),
    );
  });

  test("the workspace builds against the oldest major's @types/node, so no newer API slips in", () => {
    expect(semver.major(readManifest(WORKSPACE).devDependencies!['@types/node']!)).toBe(
      semver.major(ciNodeVersions()[0]!),
    );
  });

  test('every package in the workspace states the root engines.node', () => {
    const node = readManifest(WORKSPACE).engines?.node;
    expect(node).toMatch(/^>=\d+\.\d+\.\d+$/);
    const dirs = workspaceDirs();
    expect(dirs.length).toBeGreaterThan(10);
    for (const dir of dirs) {
      expect({ dir: path.relative(WORKSPACE, dir), node: readManifest(dir).engines?.node }).toEqual({
        dir: path.relative(WORKSPACE, dir),
        node,
      });
    }
  });
});

describe('the docs: supported versions', () => {
  const section = docSection(PAGES, 'Supported versions');
  const rows = readmeTable(section.text, 'Supported versions', section.file);
  const cell = (first: string, column: string) => {
    const row = rows.find((candidate) => candidate['Runs on']!.startsWith(first));
    if (!row) throw new Error(`no "${first}" row in the Supported versions table of ${section.file}`);
    return row[column]!;
  };
  const code = (text: string) => /`([^`]+)`/.exec(text)?.[1];

  test('Node.js: the engines range, and every Node version CI runs the suite on', () => {
    const engines = readManifest(WORKSPACE).engines!.node!;
    expect(code(cell('Node.js', 'Range'))).toBe(engines);
    expect(cell('Node.js', 'Tested in CI')).toBe(ciNodeVersions().join(', '));
  });

  test.each([
    ['Bun', 'BUN_VERSION'],
    ['Deno', 'DENO_VERSION'],
  ])('%s: the version .ci/run installs and runs the examples on', (label, variable) => {
    const script = fs.readFileSync(path.join(WORKSPACE, '.ci/run'), 'utf8');
    const version = new RegExp(`^${variable}="([^"]+)"$`, 'm').exec(script)?.[1];
    expect(version).toBeDefined();
    expect(cell(label, 'Tested in CI')).toBe(version);
    expect(code(cell(label, 'Range'))).toBe(`^${version!}`);
  });

  test.each([
    ['Express', 'express'],
    ['Fastify', 'fastify'],
    ['Koa', 'koa'],
    ['Hono', 'hono'],
  ] as const)('%s: the peer range, and every version the conformance suite runs', (label, framework) => {
    expect(cell(label, 'Runs on')).toContain(`\`${ADAPTERS[framework]}\``);
    const peer = readManifest(path.join(WORKSPACE, 'packages', framework)).peerDependencies![framework];
    expect(code(cell(label, 'Range'))).toBe(peer);
    expect(cell(label, 'Tested in CI')).toBe(conformanceVersions(framework).join(', '));
  });

  test('@hono/node-server: the Hono adapter peer range, and every version the conformance suite runs', () => {
    const peer = readManifest(path.join(WORKSPACE, 'packages/hono')).peerDependencies!['@hono/node-server'];
    expect(code(cell('`@hono/node-server`', 'Range'))).toBe(peer);
    expect(cell('`@hono/node-server`', 'Tested in CI')).toBe(conformanceVersions('@hono/node-server').join(', '));
  });

  test('gRPC: the peer ranges, and every version the tests run', () => {
    expect(cell('gRPC', 'Runs on')).toContain('`@lameduck/grpc`');
    const peers = readManifest(path.join(WORKSPACE, 'packages/grpc')).peerDependencies!;
    expect(code(cell('gRPC', 'Range'))).toBe(peers['@grpc/grpc-js']);
    expect(cell('gRPC', 'Tested in CI')).toBe(grpcVersions().join(', '));
    expect(code(cell('`grpc-health-check`', 'Range'))).toBe(peers['grpc-health-check']);
  });

  test('NestJS: the peer range, and every version the tests run', () => {
    expect(cell('NestJS', 'Runs on')).toContain('`@lameduck/nestjs`');
    const peer = readManifest(path.join(WORKSPACE, 'packages/nestjs')).peerDependencies!['@nestjs/core'];
    expect(code(cell('NestJS', 'Range'))).toBe(peer);
    expect(cell('NestJS', 'Tested in CI')).toBe(nestVersions().join(', '));
  });

  test('TypeScript: the versions that type-check the snippets', () => {
    expect(cell('TypeScript', 'Tested in CI')).toBe(typescriptVersions().join(', '));
  });

  test('the table has no row the tests above do not check', () => {
    expect(rows.map((row) => row['Runs on']!.split(' ')[0])).toEqual([
      'Node.js',
      'Bun',
      'Deno',
      'Express',
      'Fastify',
      'Koa',
      'Hono',
      '`@hono/node-server`',
      'NestJS',
      'gRPC',
      '`grpc-health-check`',
      'TypeScript',
    ]);
  });
});

describe('the snippets of README.md and docs/', () => {
  const snippets = docSnippets(PAGES);

  test('every snippet is type-checked, exactly once, and each runnable one has a consumer app', () => {
    const names = [...snippets.keys()].sort();
    expect(Object.keys(TYPE_PRELUDES).sort()).toEqual(names);
    // Bun's and Deno's snippets are checked with the newest @types/node only: every snippet with some, none twice with one.
    const checked = new Set<string>();
    for (const typesNode of typesNodeVersions()) {
      const once = typecheckInstalls(names, typesNode).flatMap((install) => install.snippets);
      expect(new Set(once).size).toBe(once.length);
      for (const name of once) checked.add(name);
    }
    expect([...checked].sort()).toEqual(names);
    const run = appInstalls().flatMap((install) => install.snippets);
    expect(new Set(run)).toEqual(new Set(['node-http', ...FRAMEWORKS, 'nestjs']));
    for (const name of Object.keys(RUN_PRELUDES)) expect(run).toContain(name);
  });
});

describe('release flow', () => {
  const published = publishedPackages();

  test('the published packages are core, the four adapters, the Nest module, cluster and gRPC', () => {
    expect(published.map((pkg) => pkg.name).sort()).toEqual(
      ['@lameduck/core', '@lameduck/cluster', '@lameduck/nestjs', '@lameduck/grpc', ...Object.values(ADAPTERS)].sort(),
    );
  });

  test.each(published.map((pkg) => [pkg.name, pkg.dir]))(
    '%s ships a CHANGELOG.md with an entry for its version',
    (name, dir) => {
      const manifest = readManifest(dir);
      expect(manifest.files).toContain('CHANGELOG.md');
      const changelog = fs.readFileSync(path.join(dir, 'CHANGELOG.md'), 'utf8');
      expect(changelog.startsWith(`# ${name}\n`)).toBe(true);
      expect(changelog).toContain(`\n## ${manifest.version}\n`);
    },
  );

  test('changesets versions the published packages together and leaves the private ones alone', () => {
    const config = JSON.parse(fs.readFileSync(path.join(WORKSPACE, '.changeset/config.json'), 'utf8')) as {
      fixed: string[][];
      privatePackages: { version: boolean; tag: boolean };
    };
    expect(config.fixed.map((group) => [...group].sort())).toEqual([published.map((pkg) => pkg.name).sort()]);
    expect(config.privatePackages).toEqual({ version: false, tag: false });
  });
});
