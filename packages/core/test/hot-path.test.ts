/** The request path's reads: adapters look up intercept() on the manager for every request, so it must be a fast-properties object. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createLameduck } from '../src/index.js';

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
