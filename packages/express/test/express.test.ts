/** What is Express's own in @lameduck/express (in process, through supertest); what every adapter shares is in the conformance matrix. */
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import supertest from 'supertest';
import { graceful, type GracefulMiddleware, type GracefulOptions } from '@lameduck/express';

const QUIET = { handleSignals: false, silent: true } as const;

/** An app with lameduck first, then auth that refuses everything without `authorization: yes`, then routes. */
function build(options: GracefulOptions = {}): { app: Express; middleware: GracefulMiddleware; hits: string[] } {
  const app = express();
  // A shared manager takes no core options here, `silent` included.
  const middleware = graceful(options.lameduck ? { handleSignals: false, ...options } : { ...QUIET, ...options });
  const hits: string[] = [];
  app.use(middleware);
  app.use((req, res, next) => {
    if (req.headers.authorization === 'yes') return next();
    res.status(401).send('authorization required');
  });
  app.get('/', (req, res) => {
    hits.push(req.url);
    res.send('ok');
  });
  return { app, middleware, hits };
}

/**
 * supertest sends `Connection: close` by default, so every answer would echo it; asking for
 * keep-alive makes the server's own `Connection: close` observable.
 */
function get(app: Express, path: string, method: 'get' | 'head' | 'post' = 'get') {
  return supertest(app)[method](path).set('Connection', 'keep-alive').set('Authorization', 'no');
}

describe('Express', () => {
  test('the middleware finds its server through the first request; app routes work untouched', async () => {
    const { app, middleware, hits } = build();
    expect(middleware.lameduck.stats().servers).toBe(0);
    const reply = await get(app, '/').set('Authorization', 'yes');
    expect(reply.status).toBe(200);
    expect(reply.text).toBe('ok');
    expect(reply.headers.connection).toBe('keep-alive');
    expect(reply.headers['retry-after']).toBeUndefined();
    expect(hits).toEqual(['/']);
    // The first request attached supertest's server: the middleware found it through the request.
    expect(middleware.lameduck.stats().servers).toBe(1);
  });

  test('an error in a route still reaches Express error handling: the middleware calls next()', async () => {
    const app = express();
    app.use(graceful(QUIET));
    app.get('/sync', () => {
      throw new Error('sync boom');
    });
    app.get('/async', async () => {
      throw new Error('async boom');
    });
    app.use((error: Error, _req: Request, res: Response, _next: NextFunction) => {
      res.status(500).send(`handled: ${error.message}`);
    });
    expect(await get(app, '/sync')).toMatchObject({ status: 500, text: 'handled: sync boom' });
    expect(await get(app, '/async')).toMatchObject({ status: 500, text: 'handled: async boom' });
  });
});

describe('options', () => {
  // Every case is tested once, in core (resolveManager): here, that graceful() hands its options to it.
  test('a bad option is refused at once: TypeError LAMEDUCK_INVALID_OPTION naming it', () => {
    expect(() => graceful({ ...QUIET, timeout: 'x' } as unknown as GracefulOptions)).toThrow(
      expect.objectContaining({ name: 'TypeError', code: 'LAMEDUCK_INVALID_OPTION', option: 'timeout' }),
    );
  });
});
