/** What the consumer apps install and run: tested versions from the workspace, README snippets as apps. */
import fs from 'node:fs';
import path from 'node:path';
import semver from 'semver';

export const WORKSPACE = path.resolve(__dirname, '../../..');

interface Manifest {
  name: string;
  version: string;
  private?: boolean;
  files?: string[];
  engines?: { node?: string };
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  packageManager?: string;
}

export function readManifest(dir: string): Manifest {
  return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as Manifest;
}

/** Every package the workspace publishes, with its directory. */
export function publishedPackages(): { name: string; dir: string }[] {
  const root = path.join(WORKSPACE, 'packages');
  return fs
    .readdirSync(root)
    .map((entry) => path.join(root, entry))
    .filter((dir) => fs.existsSync(path.join(dir, 'package.json')))
    .map((dir) => ({ dir, manifest: readManifest(dir) }))
    .filter(({ manifest }) => manifest.private !== true)
    .map(({ dir, manifest }) => ({ name: manifest.name, dir }));
}

export const FRAMEWORKS = ['express', 'fastify', 'koa'] as const;
export type Framework = (typeof FRAMEWORKS)[number];

/** The adapter package for each framework. */
export const ADAPTERS: Record<Framework, string> = {
  express: '@lameduck/express',
  fastify: '@lameduck/fastify',
  koa: '@lameduck/koa',
};

/** A conformance devDependency as npm name and exact version (`"koa-2": "npm:koa@2.16.3"` is koa 2.16.3). */
function conformanceDependencies(): { name: string; version: string }[] {
  const deps = readManifest(path.join(WORKSPACE, 'packages/conformance')).devDependencies ?? {};
  return Object.entries(deps)
    .filter(([, spec]) => !spec.startsWith('workspace:'))
    .map(([key, spec]) => {
      const alias = /^npm:(@?[^@]+)@(.+)$/.exec(spec);
      return alias ? { name: alias[1]!, version: alias[2]! } : { name: key, version: spec };
    });
}

/** The versions of `name` the conformance suite installs (and so runs against), ascending. */
export function conformanceVersions(name: string): string[] {
  const versions = conformanceDependencies()
    .filter((dep) => dep.name === name)
    .map((dep) => dep.version);
  return semver.sort(versions);
}

/** The conformance suite's exact version of a helper package (types, ws), one version only. */
function conformanceVersion(name: string): string {
  const [version, ...more] = conformanceVersions(name);
  if (version === undefined || more.length > 0) throw new Error(`conformance pins ${name} ${more.length + 1} times`);
  return version;
}

/** Per major, the oldest and the newest tested version: the ends of each range the peer ranges claim. */
export function rangeEnds(versions: string[]): string[] {
  const majors = new Map<number, string[]>();
  for (const version of semver.sort([...versions])) {
    majors.set(semver.major(version), [...(majors.get(semver.major(version)) ?? []), version]);
  }
  return [...majors.values()].flatMap((list) => [...new Set([list[0]!, list.at(-1)!])]);
}

/** One npm install in its own directory, shared by the apps that run in it. */
export interface AppInstall {
  /** Directory name and test label: `express-4.21.2`. */
  name: string;
  /** Workspace packages, installed from their packed tarballs. */
  packages: string[];
  /** Registry packages, as npm install specs. */
  dependencies: string[];
  /** README snippets run as apps here, each as ES module and as CommonJS. */
  snippets: string[];
}

/** node:http with core alone, then each adapter with the oldest and newest tested version of each major. */
export function appInstalls(): AppInstall[] {
  const installs: AppInstall[] = [
    { name: 'node-http', packages: ['@lameduck/core'], dependencies: [], snippets: ['node-http'] },
  ];
  for (const framework of FRAMEWORKS) {
    for (const version of rangeEnds(conformanceVersions(framework))) {
      installs.push({
        name: `${framework}-${version}`,
        packages: ['@lameduck/core', ADAPTERS[framework]],
        dependencies: [`${framework}@${version}`],
        snippets: [framework],
      });
    }
  }
  return installs;
}

/** TypeScript's current major (its `latest` dist-tag when this was written), the native compiler. */
const CURRENT_TYPESCRIPT = '7.0.2';

/** TypeScript versions that type-check the snippets: the workspace's own 5.x, and the current major. */
export function typescriptVersions(): string[] {
  return [readManifest(WORKSPACE).devDependencies!['typescript']!, CURRENT_TYPESCRIPT];
}

/** The newest @types/node of each Node major CI runs above the workspace's own (which is the oldest's). */
const NEWER_TYPES_NODE = ['24.19.4', '26.6.11'];

/** The @types/node versions the snippets type-check with, one per Node major CI runs: what users' projects pin. */
export function typesNodeVersions(): string[] {
  return [readManifest(WORKSPACE).devDependencies!['@types/node']!, ...NEWER_TYPES_NODE];
}

/**
 * The installs that type-check the snippets with @types/node `typesNode` (the workspace's own by
 * default): every package, each framework's newest tested version and the types the conformance suite
 * uses. Koa's snippet gets its own: @types/koa resolves `content-disposition` to whichever copy npm
 * hoists, and beside Express 5.3 that is 2.x, whose own types lack the `Options` @types/koa names; a Koa
 * app without Express does not meet that.
 */
export function typecheckInstalls(snippetNames: string[], typesNode = typesNodeVersions()[0]!): AppInstall[] {
  const newest = (name: string) => `${name}@${conformanceVersions(name).at(-1)!}`;
  const pinned = (name: string) => `${name}@${conformanceVersion(name)}`;
  const common = [
    `@types/node@${typesNode}`,
    ...typescriptVersions().map((version) => `typescript-${version}@npm:typescript@${version}`),
  ];
  const koa = ['koa'];
  const suffix = `-types-node-${semver.major(typesNode)}`;
  return [
    {
      name: `typescript${suffix}`,
      packages: ['@lameduck/core', ADAPTERS.express, ADAPTERS.fastify, '@lameduck/cluster'],
      dependencies: [
        newest('express'),
        newest('fastify'),
        ...['@types/express', '@types/ws', 'ws', '@fastify/websocket'].map(pinned),
        ...common,
      ],
      snippets: snippetNames.filter((name) => !koa.includes(name)),
    },
    {
      name: `typescript-koa${suffix}`,
      packages: ['@lameduck/core', ADAPTERS.koa],
      dependencies: [newest('koa'), pinned('@types/koa'), ...common],
      snippets: koa,
    },
  ];
}

/** What a running snippet needs and the README leaves out (a database pool); JavaScript. */
export const RUN_PRELUDES: Record<string, string> = {
  'node-http': 'const pool = { end: async () => {} };\n',
};

const EXPRESS_APP = `import express from 'express';
import { graceful } from '@lameduck/express';
const app = express();
const drain = graceful();
`;

/** What each snippet refers to without defining (the app of the snippet before it, TLS keys), as declarations. */
export const TYPE_PRELUDES: Record<string, string> = {
  'node-http': 'declare const pool: { end(): Promise<void> };\n',
  result: "import type { ShutdownResult } from '@lameduck/core';\nexport const result: ShutdownResult = ",
  express: '',
  fastify: '',
  koa: '',
  'shared-manager': `import express from 'express';
import Fastify from 'fastify';
import { createLameduck } from '@lameduck/core';
import { graceful } from '@lameduck/express';
import fastifyGraceful from '@lameduck/fastify';
const publicApp = express();
const adminApp = Fastify();
`,
  ws: EXPRESS_APP,
  sse: EXPRESS_APP,
  'fastify-websocket': `import Fastify from 'fastify';
import graceful from '@lameduck/fastify';
const app = Fastify();
`,
  startup: `declare const cache: { warm(): Promise<void> };
declare function runMigrations(): Promise<void>;
`,
  'interval-checks': `declare const pool: { query(sql: string): Promise<unknown> };
declare function pingS3(signal: AbortSignal): Promise<void>;
`,
  channels: '',
  metrics: '',
  http2: `import { createLameduck } from '@lameduck/core';
const lameduck = createLameduck();
declare const key: Buffer;
declare const cert: Buffer;
`,
  'pm2-ecosystem': '',
  'notify-ready': `import type http from 'node:http';
import type { Lameduck } from '@lameduck/core';
declare const server: http.Server;
declare const lameduck: Lameduck;
`,
  'inherited-listener': `import type http from 'node:http';
declare const server: http.Server;
`,
  'cluster-primary': '',
};

/** A snippet as a runnable app: its prelude, and port 3000 replaced by 0 so that every run gets a free port. */
export function runnable(name: string, code: string): string {
  if (!/\b3000\b/.test(code))
    throw new Error(`snippet "${name}" does not listen on 3000, the port the runner replaces`);
  return (RUN_PRELUDES[name] ?? '') + code.replace(/\b3000\b/g, '0');
}
