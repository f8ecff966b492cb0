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

export const FRAMEWORKS = ['express', 'fastify', 'koa', 'hono'] as const;
export type Framework = (typeof FRAMEWORKS)[number];

/** The adapter package for each framework. */
export const ADAPTERS: Record<Framework, string> = {
  express: '@lameduck/express',
  fastify: '@lameduck/fastify',
  koa: '@lameduck/koa',
  hono: '@lameduck/hono',
};

/**
 * The Node server a framework runs on when it is a package of its own, peered on as the framework is:
 * each of its tested majors is installed with the framework's newest tested version.
 */
export const SERVERS: Partial<Record<Framework, string>> = { hono: '@hono/node-server' };

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

/** The exact version of a library the integrations' tests use (packages/integrations: Socket.IO, graphql-ws, Apollo Server). */
function integrationsVersion(name: string): string {
  const version = readManifest(path.join(WORKSPACE, 'packages/integrations')).devDependencies?.[name];
  if (version === undefined || version.startsWith('workspace:'))
    throw new Error(`packages/integrations does not pin ${name}`);
  return version;
}

/** The libraries the docs' integration pages (docs/integrations/) import, at the versions their tests use. */
const INTEGRATIONS = [
  ...['socket.io', 'graphql', 'graphql-ws', '@apollo/server', '@as-integrations/express5'],
  ...['bullmq', 'ioredis', 'pg', '@types/pg', '@opentelemetry/api', '@opentelemetry/sdk-node'],
];

/** Per major, the oldest and the newest tested version: the ends of each range the peer ranges claim. */
export function rangeEnds(versions: string[]): string[] {
  const majors = new Map<number, string[]>();
  for (const version of semver.sort([...versions])) {
    majors.set(semver.major(version), [...(majors.get(semver.major(version)) ?? []), version]);
  }
  return [...majors.values()].flatMap((list) => [...new Set([list[0]!, list.at(-1)!])]);
}

/** Nest's packages a consumer app installs, all at one version (platform-express: Nest's default). */
export const NEST_PACKAGES = ['@nestjs/common', '@nestjs/core', '@nestjs/platform-express'] as const;

/**
 * The Nest versions the tests run: the conformance suite's (Nest 11, in process), and the major that
 * @lameduck/nestjs installs apart (Nest 12, ES modules only), which the conformance matrix runs in its ES module project.
 */
export function nestVersions(): string[] {
  const apart = readManifest(path.join(WORKSPACE, 'packages/nestjs/test/nest-12')).dependencies ?? {};
  return semver.sort([...conformanceVersions('@nestjs/core'), apart['@nestjs/core']!]);
}

/**
 * The `@grpc/grpc-js` versions @lameduck/grpc's tests run, ascending: its own devDependency (1.14) and the
 * one its `grpc-js-1.10` alias installs for the same scenarios.
 */
export function grpcVersions(): string[] {
  const deps = readManifest(path.join(WORKSPACE, 'packages/grpc')).devDependencies ?? {};
  const alias = /^npm:@grpc\/grpc-js@(.+)$/.exec(deps['grpc-js-1.10'] ?? '')?.[1];
  if (alias === undefined) throw new Error('packages/grpc has no grpc-js-1.10 alias devDependency');
  return semver.sort([deps['@grpc/grpc-js']!, alias]);
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
  /** Compiler options the snippets need beyond a strict user's (Nest: the decorator settings). */
  compilerOptions?: Record<string, unknown>;
}

/** What Nest's dependency injection needs from the compiler, as `nest new` sets it up. */
export const NEST_COMPILER_OPTIONS = { experimentalDecorators: true, emitDecoratorMetadata: true };

/** Snippets that are built with tsc before they run (decorators), instead of run as JavaScript. */
export const BUILT_SNIPPETS = ['nestjs'];

/** node:http with core alone, then each adapter with the oldest and newest tested version of each major. */
export function appInstalls(): AppInstall[] {
  const installs: AppInstall[] = [
    { name: 'node-http', packages: ['@lameduck/core'], dependencies: [], snippets: ['node-http'] },
  ];
  for (const framework of FRAMEWORKS) {
    const server = SERVERS[framework];
    for (const version of rangeEnds(conformanceVersions(framework))) {
      const base = { packages: ['@lameduck/core', ADAPTERS[framework]], snippets: [framework] };
      if (server === undefined) {
        installs.push({ ...base, name: `${framework}-${version}`, dependencies: [`${framework}@${version}`] });
        continue;
      }
      for (const serverVersion of rangeEnds(conformanceVersions(server))) {
        installs.push({
          ...base,
          name: `${framework}-${version}-${server.split('/').at(-1)!}-${serverVersion}`,
          dependencies: [`${framework}@${version}`, `${server}@${serverVersion}`],
        });
      }
    }
  }
  for (const version of nestVersions()) {
    installs.push({
      name: `nestjs-${version}`,
      packages: ['@lameduck/core', '@lameduck/nestjs'],
      dependencies: [
        ...NEST_PACKAGES.map((name) => `${name}@${version}`),
        ...['reflect-metadata', 'rxjs'].map((name) => `${name}@${conformanceVersion(name)}`),
        // The app's own build, as a Nest project has it.
        `typescript@${readManifest(WORKSPACE).devDependencies!['typescript']!}`,
        `@types/node@${readManifest(WORKSPACE).devDependencies!['@types/node']!}`,
      ],
      snippets: ['nestjs'],
      compilerOptions: NEST_COMPILER_OPTIONS,
    });
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
 * app without Express does not meet that. Nest's gets its own too, with the decorator settings its
 * snippets need (and no other snippet should get).
 */
export function typecheckInstalls(snippetNames: string[], typesNode = typesNodeVersions()[0]!): AppInstall[] {
  const newest = (name: string) => `${name}@${conformanceVersions(name).at(-1)!}`;
  const pinned = (name: string) => `${name}@${conformanceVersion(name)}`;
  const common = [
    `@types/node@${typesNode}`,
    ...typescriptVersions().map((version) => `typescript-${version}@npm:typescript@${version}`),
  ];
  const koa = ['koa'];
  const migrating = snippetNames.filter((name) => name.startsWith('migrating-'));
  // Bun's and Deno's snippets: each runtime's own globals (Bun.serve, Deno.serve), from the types examples/hono pins;
  // with the newest @types/node only (bun-types needs one that has what Bun's own globals extend).
  const own = typesNode === typesNodeVersions().at(-1);
  const bun = snippetNames.filter((name) => name.startsWith('bun-'));
  const deno = snippetNames.filter((name) => name.startsWith('deno-'));
  const runtimeTypes = readManifest(path.join(WORKSPACE, 'examples/hono')).devDependencies!;
  // The Nest snippets, on the conformance suite's Nest with the terminus, testing and microservices the module's tests use
  // (the apps build the README's on every tested major).
  const nest = snippetNames.filter((name) => name === 'nestjs' || name.startsWith('nestjs-'));
  const nestDevDependencies = readManifest(path.join(WORKSPACE, 'packages/nestjs')).devDependencies!;
  const grpc = snippetNames.filter((name) => name === 'grpc' || name.startsWith('grpc-'));
  const grpcDeps = readManifest(path.join(WORKSPACE, 'packages/grpc')).devDependencies!;
  const suffix = `-types-node-${semver.major(typesNode)}`;
  const runtimes: AppInstall[] = [
    {
      name: `typescript-bun${suffix}`,
      packages: ['@lameduck/core', ADAPTERS.hono],
      dependencies: [newest('hono'), `@types/bun@${runtimeTypes['@types/bun']!}`, ...common],
      snippets: bun,
      compilerOptions: { types: ['bun'] },
    },
    {
      name: `typescript-deno${suffix}`,
      packages: ['@lameduck/core', ADAPTERS.hono],
      dependencies: [newest('hono'), `@types/deno@${runtimeTypes['@types/deno']!}`, ...common],
      snippets: deno,
      compilerOptions: { types: ['node', 'deno'] },
    },
  ];
  return [
    ...(own ? runtimes : []),
    {
      name: `typescript${suffix}`,
      packages: ['@lameduck/core', ADAPTERS.express, ADAPTERS.fastify, ADAPTERS.hono, '@lameduck/cluster'],
      dependencies: [
        newest('express'),
        newest('fastify'),
        newest('hono'),
        newest('@hono/node-server'),
        ...['@types/express', '@types/ws', 'ws', '@fastify/websocket'].map(pinned),
        ...INTEGRATIONS.map((name) => `${name}@${integrationsVersion(name)}`),
        ...common,
      ],
      snippets: snippetNames.filter(
        (name) => ![koa, nest, migrating, bun, deno, grpc].some((group) => group.includes(name)),
      ),
    },
    {
      name: `typescript-migrating${suffix}`,
      packages: ['@lameduck/core', ADAPTERS.express, ADAPTERS.fastify],
      dependencies: [newest('express'), newest('fastify'), pinned('@types/express'), ...peerInstalls(), ...common],
      snippets: migrating,
    },
    {
      name: `typescript-koa${suffix}`,
      packages: ['@lameduck/core', ADAPTERS.koa],
      dependencies: [newest('koa'), pinned('@types/koa'), ...common],
      snippets: koa,
    },
    {
      name: `typescript-nestjs${suffix}`,
      packages: ['@lameduck/core', '@lameduck/nestjs', '@lameduck/grpc'],
      dependencies: [
        ...NEST_PACKAGES.map((name) => `${name}@${nestVersions()[0]!}`),
        ...['@nestjs/terminus', '@nestjs/testing', '@nestjs/microservices'].map(
          (name) => `${name}@${nestDevDependencies[name]!}`,
        ),
        `@grpc/grpc-js@${grpcVersions().at(-1)!}`,
        `grpc-health-check@${grpcDeps['grpc-health-check']!}`,
        ...['reflect-metadata', 'rxjs'].map(pinned),
        ...common,
      ],
      snippets: nest,
      compilerOptions: NEST_COMPILER_OPTIONS,
    },
    {
      name: `typescript-grpc${suffix}`,
      packages: ['@lameduck/core', '@lameduck/grpc'],
      dependencies: [
        `@grpc/grpc-js@${grpcVersions().at(-1)!}`,
        `grpc-health-check@${grpcDeps['grpc-health-check']!}`,
        ...common,
      ],
      snippets: grpc,
    },
  ];
}

/** lightship's version for the migration guide's snippet; not in bench/ (Node 22 and later only), so pinned here. */
const LIGHTSHIP = '9.0.4';

/**
 * The peers the migration guides' "before" snippets use: the versions bench/ measures (so the guides' numbers and
 * code are about the same releases), and lightship.
 */
function peerInstalls(): string[] {
  const bench = readManifest(path.join(WORKSPACE, 'bench')).devDependencies ?? {};
  const measured = ['@godaddy/terminus', 'http-terminator', 'http-graceful-shutdown', 'close-with-grace'].map(
    (name) => {
      const version = bench[name];
      if (version === undefined) throw new Error(`bench/package.json has no devDependency ${name}`);
      return `${name}@${version}`;
    },
  );
  return [...measured, `lightship@${LIGHTSHIP}`];
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

/** The database pool the migration guides' snippets query and close. */
const POOL = 'declare const pool: { query(sql: string): Promise<unknown>; end(): Promise<void> };\n';

/** A manager, for the snippets that use one made elsewhere on their page. */
const MANAGER = "import { createLameduck } from '@lameduck/core';\nconst lameduck = createLameduck();\n";

/** What each snippet refers to without defining (the app of the snippet before it, TLS keys), as declarations. */
export const TYPE_PRELUDES: Record<string, string> = {
  'node-http': 'declare const pool: { end(): Promise<void> };\n',
  result: "import type { ShutdownResult } from '@lameduck/core';\nexport const result: ShutdownResult = ",
  express: '',
  fastify: '',
  koa: '',
  hono: '',
  'hono-quick-start': '',
  'bun-hono': '',
  'bun-fetch': '',
  'deno-hono': '',
  'hono-env': '',
  'hono-http2': '',
  'hono-websockets': '',
  grpc: '',
  'grpc-streams': '',
  'grpc-beside-http': '',
  'grpc-migrating-before': '',
  'grpc-migrating-after': '',
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
  'socket-io': EXPRESS_APP,
  'graphql-ws': `${EXPRESS_APP}import type { GraphQLSchema } from 'graphql';
declare const schema: GraphQLSchema;
`,
  'shutdown-order': `import type { IncomingMessage, ServerResponse } from 'node:http';
import type { QueueWorkerLike } from '@lameduck/core';
declare const sdk: { shutdown(): Promise<void> };
declare const pool: { end(): Promise<void> };
declare const redis: { quit(): Promise<unknown> };
declare const scheduler: { stop(): void };
declare const worker: QueueWorkerLike;
declare function app(req: IncomingMessage, res: ServerResponse): void;
`,
  bullmq: `${MANAGER}declare function sendEmail(data: unknown, signal?: AbortSignal): Promise<void>;
`,
  'bullmq-worker-only': `import type { Worker } from 'bullmq';
declare const worker: Worker;
`,
  'bullmq-probes': `import http from 'node:http';
import type { Worker } from 'bullmq';
${MANAGER}declare const worker: Worker;
`,
  'pg-pool': MANAGER,
  opentelemetry: MANAGER,
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
  ...Object.fromEntries(
    ['terminus', 'http-terminator', 'http-graceful-shutdown', 'close-with-grace', 'lightship'].flatMap((peer) => [
      [`migrating-${peer}-before`, POOL],
      [`migrating-${peer}-after`, POOL],
    ]),
  ),
  nestjs: '',
  'nestjs-three-lines': '',
  'nestjs-for-root-async': '',
  'nestjs-options-factory': '',
  'nestjs-testing': '',
  'nestjs-inject': '',
  'nestjs-terminus': '',
  'nestjs-grpc': '',
  'nestjs-grpc-streams': '',
  'nestjs-grpc-standalone': '',
};

/** A snippet as a runnable app: its prelude, and port 3000 replaced by 0 so that every run gets a free port. */
export function runnable(name: string, code: string): string {
  if (!/\b3000\b/.test(code))
    throw new Error(`snippet "${name}" does not listen on 3000, the port the runner replaces`);
  return (RUN_PRELUDES[name] ?? '') + code.replace(/\b3000\b/g, '0');
}
