/** resolveManager(): the options every adapter takes (core options, a shared manager, signal handling); answerAhead(). */
import http from 'node:http';
import { answerAhead, createLameduck, resolveManager, type AdapterOptions } from '@lameduck/core';
import { closeServer, listen, request } from '@lameduck/test-utils';

const QUIET = { handleSignals: false, silent: true } as const;
const SIGNAL_EVENTS = ['SIGTERM', 'SIGINT', 'uncaughtException', 'unhandledRejection'] as const;
const listenerCounts = () => SIGNAL_EVENTS.map((event) => process.listenerCount(event));

test.each<[string, unknown, string]>([
  ['a duration that is not a number', { ...QUIET, timeout: 'x' }, 'timeout'],
  ['a mistyped option name', { ...QUIET, timout: 1_000 }, 'timout'],
  ['a probe path without a slash', { ...QUIET, readinessPath: 'readyz' }, 'readinessPath'],
  ['handleSignals that is neither a boolean nor options', { silent: true, handleSignals: 'yes' }, 'handleSignals'],
  ['bad signal options', { silent: true, handleSignals: { signals: ['SIGKILL'] } }, 'signals'],
  ['a lameduck that is not a manager', { handleSignals: false, lameduck: {} }, 'lameduck'],
  [
    'core options next to a shared manager',
    { handleSignals: false, lameduck: createLameduck({ silent: true }), timeout: 1 },
    'timeout',
  ],
  ['options that are not an object', null, 'options'],
])('%s: TypeError LAMEDUCK_INVALID_OPTION naming it, and no signal listener left behind', (_, options, option) => {
  const before = listenerCounts();
  const call = () => resolveManager(options as AdapterOptions);
  expect(call).toThrow(TypeError);
  expect(call).toThrow(
    expect.objectContaining({
      code: 'LAMEDUCK_INVALID_OPTION',
      option,
      message: expect.stringContaining(`option "${option}"`),
    }),
  );
  expect(listenerCounts()).toEqual(before);
});

test('a shared manager is used as is', () => {
  const shared = createLameduck({ silent: true });
  expect(resolveManager({ lameduck: shared, handleSignals: false })).toBe(shared);
});

test('the caller’s options are not mutated (a frozen object is fine)', () => {
  const options = Object.freeze({ ...QUIET, timeout: 20_000, rejectHeaders: Object.freeze({ 'X-A': 'b' }) });
  const lameduck = resolveManager(options);
  expect(options).toEqual({ ...QUIET, timeout: 20_000, rejectHeaders: { 'X-A': 'b' } });
  expect(lameduck.options).toMatchObject({ timeout: 20_000, rejectHeaders: { 'x-a': 'b' } });
});

test('by default SIGTERM and SIGINT get one listener per manager, however many adapters share it', () => {
  const [term, int, exception, rejection] = listenerCounts();
  const own = resolveManager({ silent: true });
  const shared = createLameduck({ silent: true });
  try {
    expect(listenerCounts()).toEqual([term! + 1, int! + 1, exception, rejection]);
    resolveManager({ lameduck: shared });
    resolveManager({ lameduck: shared });
    expect(listenerCounts()).toEqual([term! + 2, int! + 2, exception, rejection]);
    resolveManager({ silent: true, handleSignals: { handleErrors: true } })
      .handleSignals()
      .uninstall();
  } finally {
    // handleSignals() returns the installed handle: uninstall it before anything can send a signal.
    own.handleSignals().uninstall();
    shared.handleSignals().uninstall();
  }
  expect(listenerCounts()).toEqual([term, int, exception, rejection]);
});

describe('answerAhead()', () => {
  test('lameduck answers at the request listener, ahead of the listeners the server had; the rest reach them', async () => {
    const lameduck = createLameduck({ silent: true });
    const reached: string[] = [];
    const server = http.createServer((req, res) => {
      reached.push(req.url!);
      res.statusCode = 401;
      res.end('authorization required');
    });
    answerAhead(lameduck, server);
    expect(server.listenerCount('request')).toBe(1);
    const port = await listen(server);
    try {
      expect((await request(port, { path: '/readyz', agent: false })).status).toBe(200);
      expect((await request(port, { path: '/livez', agent: false })).status).toBe(200);
      expect(await request(port, { path: '/app', agent: false })).toMatchObject({ status: 401 });
      expect(reached).toEqual(['/app']);
    } finally {
      await closeServer(server);
    }
  });
});
