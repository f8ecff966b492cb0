/** The request path's reads: the manager is a fast-properties object (adapters look up intercept() per request), and most URLs are handed on after one table read. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createLameduck } from '../src/index.js';
import { probeFilter } from '../src/probes.js';

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

describe('probeFilter: the first look at every URL while serving', () => {
  const defaults = probeFilter(['/readyz', '/livez', '/startupz']);

  test.each([
    ['/readyz', true],
    ['/readyz/db?verbose', true],
    ['/livez', true],
    ['/startupz', true],
    // Passed on to answerProbe(), which then says it is not a probe: only the second character is read.
    ['/robots.txt', true],
    ['/', false],
    ['/api/users', false],
    ['', false],
    [undefined, true],
  ])('%s: %s', (url, expected) => {
    expect(defaults(url)).toBe(expected);
  });

  test('prefixed paths, paths turned off, and a path of "/" alone', () => {
    const prefixed = probeFilter(['/api/readyz', false, '/health/started']);
    expect([prefixed('/api/readyz'), prefixed('/health/started'), prefixed('/livez'), prefixed('/x')]).toEqual([
      true,
      true,
      false,
      false,
    ]);
    expect(probeFilter([false, false, false])('/readyz')).toBe(false);
    expect(probeFilter(['/', false, false])('/anything')).toBe(true);
    expect(probeFilter(['/é', false, false])('/x')).toBe(true);
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
