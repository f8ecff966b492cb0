/** @lameduck/fastify: graceful shutdown for Fastify 5 as a plugin, `app.register(graceful)`. */
import { coordinateFrameworkClose, resolveManager, type AdapterOptions, type Lameduck } from '@lameduck/core';
import type { FastifyPluginCallback } from 'fastify';
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

const plugin: FastifyPluginCallback<GracefulOptions> = function lameduckPlugin(fastify, options, done) {
  const own = Object.fromEntries(Object.entries(options).filter(([key]) => !REGISTER_KEYS.has(key)));
  let lameduck: Lameduck;
  try {
    lameduck = resolveManager(own);
  } catch (error) {
    // A callback plugin must hand its error to done(): thrown, it escapes avvio as an uncaught exception.
    return done(error as Error);
  }
  fastify.decorate('lameduck', lameduck);
  lameduck.attach(fastify.server);

  fastify.addHook('onRequest', function lameduckOnRequest(request, reply, hookDone) {
    const answer = lameduck.intercept(request.raw, reply.raw);
    if (answer === undefined) return hookDone();
    answer.then((response) => reply.code(response.status).headers(response.headers).send(response.body), hookDone);
  });

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
 * The plugin. Register it first, before plugins whose hooks could answer or refuse the probes.
 * @example
 * const app = Fastify();
 * await app.register(graceful);
 * app.get('/', async () => 'hello');
 * await app.listen({ port: 3000 });
 */
export const graceful = fp(plugin, { name: '@lameduck/fastify', fastify: '^5.8.5' });
export default graceful;

export type { AdapterOptions, Lameduck, LameduckOptions, ShutdownResult, SignalOptions } from '@lameduck/core';
