/** @lameduck/fastify: graceful shutdown for Fastify 5 as a plugin, `app.register(graceful)`. */
import {
  coordinateFrameworkClose,
  resolveManager,
  type AdapterOptions,
  type Lameduck,
  type PlainResponse,
} from '@lameduck/core';
import type { FastifyInstance, FastifyPluginCallback, FastifyReply, FastifyRequest, LogLevel } from 'fastify';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyInstance {
    /** The lameduck manager draining this instance's server. */
    lameduck: Lameduck;
  }
}

/** Options of the plugin: every `createLameduck()` option, plus `lameduck` and `handleSignals`. */
export type GracefulOptions = AdapterOptions;

/** Fastify's own `register()` options, which reach the plugin's options too. */
const REGISTER_KEYS = new Set(['prefix', 'logLevel', 'logSerializers']);

/**
 * The probes as real routes, so that they show in `printRoutes()`, sit under the `prefix` and take
 * `logLevel` (`'silent'` keeps probes out of the request log). They are still answered in the
 * onRequest hook, before the application's own hooks (auth, rate limits) could refuse them; the
 * handler below answers only if that hook was bypassed.
 */
function probeRoutes(fastify: FastifyInstance, lameduck: Lameduck, logLevel: LogLevel | undefined): void {
  const { readinessPath, livenessPath, startupPath } = lameduck.options;
  const handler = function lameduckProbe(request: FastifyRequest, reply: FastifyReply): Promise<unknown> | undefined {
    return lameduck.intercept(request.raw, reply.raw)?.then((answer) => send(reply, answer));
  };
  const urls = [readinessPath, livenessPath].flatMap((path) => (path === false ? [] : [path, `${path}/:check`]));
  if (startupPath !== false) urls.push(startupPath);
  for (const path of urls) {
    // Registered on this instance, which adds its own prefix: the manager's paths already include it.
    const url = path.slice(fastify.prefix.length);
    fastify.route({ method: 'GET', url, handler, ...(logLevel === undefined ? {} : { logLevel }) });
  }
}

function send(reply: FastifyReply, answer: PlainResponse): FastifyReply {
  return reply.code(answer.status).headers(answer.headers).send(answer.body);
}

const plugin: FastifyPluginCallback<GracefulOptions> = function lameduckPlugin(fastify, options, done) {
  const own = Object.fromEntries(Object.entries(options).filter(([key]) => !REGISTER_KEYS.has(key)));
  const registered = options as { prefix?: string; logLevel?: LogLevel };
  // fastify-plugin skips encapsulation, and with it Fastify's own prefixing: the paths get it here.
  const pathPrefix = `${fastify.prefix}${registered.prefix ?? ''}`;
  let lameduck: Lameduck;
  try {
    lameduck = resolveManager(own, {
      // Fastify without a logger (its default) has a no-op one with no level: lameduck's own lines
      // then, so that a shutdown is never unreported.
      logger: typeof fastify.log.level === 'string' ? fastify.log.child({ plugin: 'lameduck' }) : undefined,
      pathPrefix: own.lameduck === undefined || registered.prefix !== undefined ? pathPrefix : '',
    });
  } catch (error) {
    // A callback plugin must hand its error to done(): thrown, it escapes avvio as an uncaught exception.
    return done(error as Error);
  }
  fastify.decorate('lameduck', lameduck);
  lameduck.attach(fastify.server);

  fastify.addHook('onRequest', function lameduckOnRequest(request, reply, hookDone) {
    const answer = lameduck.intercept(request.raw, reply.raw);
    if (answer === undefined) return hookDone();
    answer.then((response) => send(reply, response), hookDone);
  });
  // A shared manager's paths are its own: routes only where this instance can place them.
  if (own.lameduck === undefined || fastify.prefix === '') probeRoutes(fastify, lameduck, registered.logLevel);

  // fastify.close() drains first: requests in flight finish and idle sockets close, where Fastify
  // alone waits out its 72 s keep-alive timeout (or, in 5.10-5.11, resets requests in flight). After
  // a signal's drain, core closes Fastify so that the application's onClose hooks run.
  const framework = coordinateFrameworkClose(lameduck, { name: 'fastify.close()', close: () => fastify.close() });
  fastify.addHook('preClose', function lameduckPreClose(hookDone) {
    void framework.closing().then(() => hookDone());
  });
  // Registered first, so it runs after the application's own onClose hooks.
  fastify.addHook('onClose', function lameduckOnClose(_instance, hookDone) {
    framework.closed();
    hookDone();
  });
  done();
};

/**
 * The plugin (Fastify 5.8 and later). Register it first, before plugins whose hooks could answer or
 * refuse the probes. It logs through `fastify.log.child({ plugin: 'lameduck' })` when Fastify has a
 * logger and no `logger` (or `silent`) is given, and registers the probes as routes under its `prefix`, with its `logLevel`.
 * @example
 * const app = Fastify();
 * await app.register(graceful);
 * app.get('/', async () => 'hello');
 * await app.listen({ port: 3000 });
 */
export const graceful = fp(plugin, { name: '@lameduck/fastify', fastify: '^5.8.5' });
export default graceful;

export type { AdapterOptions, Lameduck, LameduckOptions, ShutdownResult, SignalOptions } from '@lameduck/core';
export { prometheusMetrics, PROMETHEUS_CONTENT_TYPE } from '@lameduck/core';
