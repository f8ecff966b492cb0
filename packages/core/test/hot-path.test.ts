/** The request path's reads: the manager is a fast-properties object (adapters look up intercept() per request), and most requests are handed on after one look at their socket and URL. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createLameduck } from '../src/index.js';
import { createServingPath } from '../src/serving-path.js';
import { kConnection } from '../src/tracker/state.js';

const run = promisify(execFile);

test('V8 keeps the manager in fast mode (a literal with a getter, the control, is not)', async () => {
  const fixture = join(__dirname, 'fixtures', 'fast-properties.ts');
  const args = ['--allow-natives-syntax', '--conditions=@lameduck/source', '--import', 'tsx', fixture];
  const { stdout } = await run(process.execPath, args);
  expect(JSON.parse(stdout)).toEqual({ control: false, manager: true, state: 'serving' });
});

test('state and accepting are still enumerable, read-only and current', async () => {
  const lameduck = createLameduck({ silent: true, readinessDelay: 0, timeout: 1_000 });
  expect(Object.keys(lameduck)).toEqual(expect.arrayContaining(['state', 'accepting', 'intercept']));
  expect(() => Object.assign(lameduck, { state: 'closed' })).toThrow(TypeError);
  expect([lameduck.state, lameduck.accepting]).toEqual(['serving', true]);
  await lameduck.shutdown('test');
  expect([lameduck.state, lameduck.accepting]).toEqual(['closed', false]);
});

describe('the serving path: most requests are handed on after one look at the socket and the URL', () => {
  const owner = {};
  const known = { [kConnection]: { owner } };
  /** Whether `intercept()` handed `url` on at once ('fast') or asked the full intercept() ('slow'). */
  function path(
    probePaths: (string | false)[],
    url: string | undefined,
    { socket = known as object | null, exact = true, serving = true } = {},
  ): 'fast' | 'slow' {
    let slow = false;
    const servingPath = createServingPath(probePaths, () => void (slow = true) as undefined);
    if (exact) servingPath.exact(owner);
    servingPath.serving(serving);
    expect(servingPath.intercept({ method: 'GET', url, socket } as never, {} as never)).toBeUndefined();
    return slow ? 'slow' : 'fast';
  }
  const defaults = ['/readyz', '/livez', '/startupz'];

  test.each([
    ['/readyz', 'slow'],
    ['/readyz/db?verbose', 'slow'],
    ['/livez', 'slow'],
    ['/startupz', 'slow'],
    // The full intercept() then says it is not a probe: only the second character is read.
    ['/robots.txt', 'slow'],
    ['/', 'fast'],
    ['/api/users', 'fast'],
    ['/é', 'fast'],
    ['', 'fast'],
    [undefined, 'slow'],
  ])('%s: %s', (url, expected) => {
    expect(path(defaults, url)).toBe(expected);
  });

  test('prefixed paths, paths turned off, and paths of "/" alone or with a non-ASCII character', () => {
    const prefixed: (string | false)[] = ['/api/readyz', false, '/health/started'];
    expect(['/api/readyz', '/health/started', '/livez', '/x'].map((url) => path(prefixed, url))).toEqual([
      'slow',
      'slow',
      'fast',
      'fast',
    ]);
    expect(path([false, false, false], '/readyz')).toBe('fast');
    expect(['/anything', '/'].map((url) => path(['/', false, false], url))).toEqual(['slow', 'slow']);
    expect(['/x', '/é'].map((url) => path(['/é', false, false], url))).toEqual(['slow', 'slow']);
  });

  test('the full intercept() decides unless serving, on the private path, on a socket of this tracker', () => {
    expect(path(defaults, '/hello')).toBe('fast');
    expect(path(defaults, '/hello', { exact: false })).toBe('slow');
    expect(path(defaults, '/hello', { serving: false })).toBe('slow');
    expect(path(defaults, '/hello', { socket: {} })).toBe('slow');
    expect(path(defaults, '/hello', { socket: { [kConnection]: { owner: {} } } })).toBe('slow');
    expect(path(defaults, '/hello', { socket: null })).toBe('slow');
  });

  test('passes(): what the full intercept() hands on at once while serving, the public path included', () => {
    const servingPath = createServingPath(defaults, () => undefined);
    expect(['/hello', '/readyz', '/robots.txt', undefined].map((url) => servingPath.passes(url))).toEqual([
      true,
      false,
      false,
      false,
    ]);
    servingPath.serving(false);
    expect(servingPath.passes('/hello')).toBe(false);
  });

  test('through intercept(): probes are answered and every other request is handed on', async () => {
    const lameduck = createLameduck({ silent: true, readinessPath: '/health/ready', livenessPath: false });
    const req = (url: string) => ({ method: 'GET', url, headers: {}, socket: null }) as never;
    expect(lameduck.intercept(req('/health/ready'), {} as never)).toBeInstanceOf(Promise);
    expect(lameduck.intercept(req('/hello'), {} as never)).toBeUndefined();
    expect(lameduck.intercept(req('/livez'), {} as never)).toBeUndefined();
    expect((await lameduck.intercept(req('/startupz'), {} as never))?.status).toBe(200);
  });
});
