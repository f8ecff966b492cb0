/** The catalogue: which server file is which library on which framework, and how the report names it. */

export type Framework = 'node:http' | 'express' | 'fastify' | 'koa' | 'hono' | 'nestjs';

export type Library =
  'bare' | 'textbook' | 'lameduck' | 'lameduck-default' | 'terminus' | 'hgs' | 'terminator' | 'close-with-grace';

/** One server under test: a file in servers/ (without `.ts`). */
export interface Variant {
  file: string;
  framework: Framework;
  library: Library;
  /** A second process of the same server: the A/A control that shows the noise of a run. */
  control?: boolean;
}

/** How the report names each library. */
export const LIBRARY_NAMES: Record<Library, string> = {
  bare: 'bare',
  textbook: 'textbook `server.close()`',
  lameduck: '**lameduck**',
  'lameduck-default': '**lameduck**, fixed `readinessDelay` 5 s ⚑',
  terminus: '@godaddy/terminus',
  hgs: 'http-graceful-shutdown',
  terminator: 'http-terminator',
  'close-with-grace': 'Fastify `close()` + close-with-grace',
};

/** How each library is set up in servers/, for the method section. */
export const LIBRARY_SETUPS: Record<Library, string> = {
  bare: 'no shutdown code at all (the throughput reference; SIGTERM kills it)',
  textbook: "`process.on('SIGTERM', () => server.close(() => process.exit(0)))` (WebSockets: `close(1001)` each first)",
  lameduck:
    'the adapter mounted first (`app.use(graceful({ readinessDelay: 0 }))`, `app.register(graceful, { readinessDelay: 0 })`, ' +
    'core `handle()` + `attach()` + `handleSignals()` for node:http), `attach(server)` at listen, every other option default ' +
    '(`timeout` 25 s); WebSockets: `addCloser()` sending 1001',
  'lameduck-default':
    'the Express adapter with `readinessDelay: 5000`, the default before `"auto"` (which, with no prober as here, has no delay)',
  terminus:
    "`createTerminus(server, { signals: ['SIGTERM','SIGINT'], timeout: 10000, healthChecks: { '/healthcheck': … }, onSignal })` " +
    'on `http.createServer(app)` as its README shows (Fastify: on `app.server`)',
  hgs: "`gracefulShutdown(server, { signals: 'SIGINT SIGTERM', timeout: 10000, forceExit: true })`",
  terminator:
    "`createHttpTerminator({ server, gracefulTerminationTimeout: 10000 })`, `process.on('SIGTERM', async () => { await terminator.terminate(); process.exit(0) })`",
  'close-with-grace':
    "close-with-grace's README recipe for Fastify: `closeWithGrace({ delay: 10000 }, async () => { await app.close() })`, " +
    "Fastify's defaults otherwise (`return503OnClosing`, `keepAliveTimeout` 72 s)",
};

export const FRAMEWORK_NAMES: Record<Framework, string> = {
  'node:http': 'node:http',
  express: 'Express',
  fastify: 'Fastify',
  koa: 'Koa',
  hono: 'Hono',
  nestjs: 'NestJS (platform-express)',
};

function variant(framework: Framework, library: Library): Variant {
  const prefix = framework === 'node:http' ? 'node' : framework;
  return { file: `${prefix}-${library}`, framework, library };
}

/** `Express: lameduck`, `Fastify: http-terminator`… */
export function variantName(item: Variant, withFramework = true): string {
  const library = item.control ? 'bare, a second identical process (A/A)' : LIBRARY_NAMES[item.library];
  return withFramework ? `${FRAMEWORK_NAMES[item.framework]}: ${library}` : library;
}

const PEERS: Library[] = ['terminus', 'hgs', 'terminator'];

/** lameduck on every framework. */
export const LAMEDUCK_EVERYWHERE: Variant[] = (['express', 'fastify', 'koa', 'node:http'] as Framework[]).map((f) =>
  variant(f, 'lameduck'),
);

/** The shutdown peers, each on Express (their code only touches the http.Server), plus Fastify's own close(). */
export const PEERS_ON_EXPRESS: Variant[] = [
  variant('express', 'textbook'),
  ...PEERS.map((l) => variant('express', l)),
  variant('fastify', 'close-with-grace'),
];

export const EXPRESS_LAMEDUCK_DEFAULT = variant('express', 'lameduck-default');

/** For sections that compare memory with and without lameduck. */
export const BARE_EVERYWHERE: Variant[] = (['express', 'fastify', 'koa', 'node:http'] as Framework[]).map((f) =>
  variant(f, 'bare'),
);

/** WebSockets: lameduck with a closer, the hand-written textbook closer, and the peers as configured (Express). */
export const WEBSOCKET_VARIANTS: Variant[] = [
  variant('express', 'lameduck'),
  variant('express', 'textbook'),
  ...PEERS.map((l) => variant('express', l)),
];
