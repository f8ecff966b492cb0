/** Bad input gets a TypeError with a code, the option's name and what was received. */
import { createLameduck, DEFAULTS, type LameduckOptions, type SignalOptions } from '@lameduck/core';

const ms = (from: number) => `a whole number of milliseconds from ${from} to 2147483647`;

const invalid: [string, unknown, string, string][] = [
  ['timeout', '25s', ms(1), "'25s' (string)"],
  ['timeout', 0, ms(1), '0 (number)'],
  ['timeout', -1, ms(1), '-1 (number)'],
  ['timeout', 1.5, ms(1), '1.5 (number)'],
  ['timeout', Number.NaN, ms(1), 'NaN (number)'],
  ['timeout', Number.POSITIVE_INFINITY, ms(1), 'Infinity (number)'],
  ['timeout', 2_147_483_648, ms(1), '2147483648 (number)'],
  ['timeout', null, ms(1), 'null (null)'],
  ['readinessDelay', -5, `"auto" or ${ms(0)}`, '-5 (number)'],
  ['readinessDelay', '5000', `"auto" or ${ms(0)}`, "'5000' (string)"],
  ['readinessDelay', 'evidence', `"auto" or ${ms(0)}`, "'evidence' (string)"],
  ['minReadinessDelay', 'kubernetes', `"auto" or ${ms(0)}`, "'kubernetes' (string)"],
  ['readinessFailures', 0, 'a whole number from 1 to 100', '0 (number)'],
  ['readinessFailures', 2.5, 'a whole number from 1 to 100', '2.5 (number)'],
  ['cleanupReserve', true, ms(0), 'true (boolean)'],
  ['hookTimeout', 0, ms(1), '0 (number)'],
  ['idleGrace', [], ms(0), '[] (array)'],
  ['abortBefore', -1, ms(0), '-1 (number)'],
  ['checkTimeout', 0, ms(1), '0 (number)'],
  ['exposeErrors', 'yes', 'true or false', "'yes' (string)"],
  ['silent', 1, 'true or false', '1 (number)'],
  ['readinessPath', 'readyz', 'a path starting with "/" (no query, fragment or spaces), or false', "'readyz' (string)"],
  [
    'readinessPath',
    '/ready?x=1',
    'a path starting with "/" (no query, fragment or spaces), or false',
    "'/ready?x=1' (string)",
  ],
  ['livenessPath', true, 'a path starting with "/" (no query, fragment or spaces), or false', 'true (boolean)'],
  ['retryAfter', 1.5, 'a whole number of seconds from 0 to 86400', '1.5 (number)'],
  ['retryAfter', -1, 'a whole number of seconds from 0 to 86400', '-1 (number)'],
  ['logger', console.log, 'an object with info, warn and error functions (pino, say)', '[Function: log] (function)'],
  [
    'logger',
    { info() {} },
    'an object with info, warn and error functions (pino, say)',
    '{ info: [Function: info] } (object)',
  ],
  ['checks', [() => true], 'an object of named functions', '[ [Function (anonymous)] ] (array)'],
  ['rejectBody', 503, 'a string or a plain object (sent as JSON)', '503 (number)'],
  ['rejectHeaders', 'Retry-After: 1', 'an object of header names to string values', "'Retry-After: 1' (string)"],
  ['discardLimit', -1, 'a whole number of bytes from 0', '-1 (number)'],
  ['watchdog', true, '"shutdown", "always" or false', 'true (boolean)'],
  ['stallWarning', 0, 'a whole number of milliseconds from 1 to 2147483647, or false', '0 (number)'],
  ['stallWarning', '1s', 'a whole number of milliseconds from 1 to 2147483647, or false', "'1s' (string)"],
];

describe('createLameduck() options', () => {
  test.each(invalid)('%s: %p is refused', (option, value, expected, received) => {
    const call = () => createLameduck({ [option]: value } as LameduckOptions);
    expect(call).toThrow(TypeError);
    expect(call).toThrow(
      expect.objectContaining({
        code: 'LAMEDUCK_INVALID_OPTION',
        option,
        message: `lameduck: option "${option}" must be ${expected}; received ${received}`,
      }),
    );
  });

  test('a check that is not a function is named with its key', () => {
    expect(() => createLameduck({ checks: { db: 'select 1' } } as unknown as LameduckOptions)).toThrow(
      'lameduck: option "checks.db" must be a function, or { check: function, interval: milliseconds }; received \'select 1\' (string)',
    );
  });

  test('an unknown (mistyped) option is refused, not ignored', () => {
    expect(() => createLameduck({ timout: 1000 } as LameduckOptions)).toThrow(
      expect.objectContaining({
        code: 'LAMEDUCK_INVALID_OPTION',
        option: 'timout',
        message: expect.stringMatching(/^lameduck: option "timout" must be one of the known options \(timeout, /),
      }),
    );
  });

  test.each([null, 'fast', 42, [], new Map()])('options that are not a plain object (%p) are refused', (value) => {
    expect(() => createLameduck(value as LameduckOptions)).toThrow(
      expect.objectContaining({ code: 'LAMEDUCK_INVALID_OPTION', option: 'options' }),
    );
  });

  test('timeout must leave time to drain after readinessDelay and cleanupReserve', () => {
    expect(() => createLameduck({ timeout: 10_000, readinessDelay: 5_000, cleanupReserve: 5_000 })).toThrow(
      'lameduck: option "timeout" must be greater than readinessDelay + cleanupReserve (5000 + 5000 = 10000) so requests get time to drain; received 10000 (number)',
    );
    expect(() => createLameduck({ timeout: 3_000, readinessDelay: 2_500 })).toThrow(
      /readinessDelay \+ cleanupReserve \(2500 \+ 600 = 3100\)/,
    );
  });

  test('unset cleanupReserve shrinks to fit a short timeout: 5000, or a fifth of it; unset readinessDelay is "auto"', () => {
    expect(createLameduck({ timeout: 10_000 }).options).toMatchObject({
      readinessDelay: 'auto',
      cleanupReserve: 2_000,
    });
    expect(createLameduck({ timeout: 3_000 }).options).toMatchObject({ readinessDelay: 'auto', cleanupReserve: 600 });
    expect(createLameduck({ timeout: 60_000 }).options).toMatchObject({
      readinessDelay: 'auto',
      cleanupReserve: 5_000,
    });
    expect(createLameduck({ timeout: 10_000, readinessDelay: 0 }).options).toMatchObject({ cleanupReserve: 2_000 });
    expect(createLameduck().options).toMatchObject({ readinessFailures: 3, minReadinessDelay: 'auto' });
  });

  test('unset abortBefore scales with the drain window: 1000, or a fifth of timeout - readinessDelay - cleanupReserve', () => {
    // "auto" keeps a drain window of a quarter of timeout - cleanupReserve, at most 5 s: 25000 - 5000 - 15000.
    expect(createLameduck().options.abortBefore).toBe(1_000);
    expect(createLameduck({ timeout: 2_000, readinessDelay: 0 }).options.abortBefore).toBe(320); // 1600 / 5
    expect(createLameduck({ timeout: 1_600 }).options.abortBefore).toBe(64); // (1600 - 320) / 4 / 5
    expect(createLameduck({ timeout: 1_000, readinessDelay: 0, cleanupReserve: 0 }).options.abortBefore).toBe(200);
  });

  test('a set abortBefore must leave drain time before the deadline signal', () => {
    expect(() => createLameduck({ timeout: 2_000, readinessDelay: 0, abortBefore: 1_600 })).toThrow(
      'lameduck: option "abortBefore" must be less than the drain window, timeout - readinessDelay - cleanupReserve (2000 - 0 - 400 = 1600), so requests get time to finish; received 1600 (number)',
    );
    expect(createLameduck({ timeout: 2_000, readinessDelay: 0, abortBefore: 1_599 }).options.abortBefore).toBe(1_599);
  });

  test('a 503 header must be a string with a valid name, and Connection cannot be replaced', () => {
    expect(() => createLameduck({ rejectHeaders: { 'retry-after': 5 } } as never)).toThrow(
      'lameduck: option "rejectHeaders.retry-after" must be a string; received 5 (number)',
    );
    expect(() => createLameduck({ rejectHeaders: { 'bad header': 'x' } })).toThrow(
      'lameduck: option "rejectHeaders["bad header"]" must be a valid header name',
    );
    expect(() => createLameduck({ rejectHeaders: { Connection: 'keep-alive' } })).toThrow(
      'lameduck: option "rejectHeaders.Connection" must be left out: the 503 always closes its connection',
    );
  });

  test('the probe paths must differ', () => {
    expect(() => createLameduck({ readinessPath: '/health', livenessPath: '/health' })).toThrow(
      'lameduck: option "livenessPath" must be different from readinessPath; received \'/health\' (string)',
    );
  });

  test('valid options are applied and the caller’s object is left alone', () => {
    const input: LameduckOptions = Object.freeze({ timeout: 40_000, readinessPath: false, checks: { db: () => true } });
    const lameduck = createLameduck(input);
    expect(lameduck.options).toMatchObject({ timeout: 40_000, readinessPath: false, livenessPath: '/livez' });
    expect(Object.isFrozen(lameduck.options)).toBe(true);
    expect(input).toEqual({ timeout: 40_000, readinessPath: false, checks: { db: expect.any(Function) } });
  });

  test('DEFAULTS is frozen, fits inside Kubernetes’ 30 s grace period, and is what an empty call gets', () => {
    expect(Object.isFrozen(DEFAULTS)).toBe(true);
    expect(Object.isFrozen(DEFAULTS.signals)).toBe(true);
    expect(DEFAULTS.timeout).toBeLessThan(30_000);
    const { options } = createLameduck();
    for (const [key, value] of Object.entries(options)) {
      expect([key, value]).toEqual([key, DEFAULTS[key as keyof typeof DEFAULTS]]);
    }
  });
});

describe('handleSignals() options', () => {
  test.each<[string, unknown, string]>([
    ['signals', 'SIGTERM', 'a non-empty array of catchable signal names like "SIGTERM"'],
    ['signals', [], 'a non-empty array of catchable signal names like "SIGTERM"'],
    ['signals', ['SIGKILL'], 'a non-empty array of catchable signal names like "SIGTERM"'],
    ['signals', ['term'], 'a non-empty array of catchable signal names like "SIGTERM"'],
    ['repeatWindow', -1, ms(0)],
    ['handleErrors', 'true', 'true or false'],
    ['exitCode', 1, 'a function (result) => number'],
    ['exit', true, 'one of the known options (signals, repeatWindow, handleErrors, exitCode)'],
  ])('%s: %p is refused before anything is installed', (option, value, expected) => {
    const before = process.listenerCount('SIGTERM');
    const lameduck = createLameduck({ silent: true });
    expect(() => lameduck.handleSignals({ [option]: value } as SignalOptions)).toThrow(
      expect.objectContaining({
        code: 'LAMEDUCK_INVALID_OPTION',
        option,
        message: expect.stringContaining(`option "${option}" must be ${expected}; received `),
      }),
    );
    expect(process.listenerCount('SIGTERM')).toBe(before);
  });

  test('installing is idempotent, and uninstall removes every listener', () => {
    const counts = () =>
      ['SIGTERM', 'SIGINT', 'uncaughtException', 'unhandledRejection'].map((e) => process.listenerCount(e));
    const before = counts();
    const lameduck = createLameduck({ silent: true });
    const handle = lameduck.handleSignals({ handleErrors: true });
    expect(lameduck.handleSignals()).toBe(handle);
    expect(counts()).toEqual(before.map((count) => count + 1));
    handle.uninstall();
    expect(counts()).toEqual(before);
    expect(lameduck.handleSignals()).not.toBe(handle);
    lameduck.handleSignals().uninstall();
  });
});

describe('other bad input', () => {
  const lameduck = createLameduck({ silent: true });

  test('attach() needs a server', () => {
    expect(() => lameduck.attach({} as never)).toThrow(
      expect.objectContaining({
        code: 'LAMEDUCK_INVALID_ARGUMENT',
        message:
          'lameduck: attach() takes an http.Server or https.Server (what app.listen() returns), the server Bun.serve() or Deno.serve() returns, or a Drainable',
      }),
    );
  });

  test('addHook() needs a function, a name and a timeout', () => {
    expect(() => lameduck.addHook('close' as never)).toThrow(
      'option "hook" must be a function; received \'close\' (string)',
    );
    expect(() => lameduck.addHook(() => {}, { timeout: 0 })).toThrow(
      `option "timeout" must be ${ms(1)}; received 0 (number)`,
    );
    expect(() => lameduck.addHook(() => {}, { name: '' })).toThrow('option "name" must be a non-empty string');
  });

  test('addTask() needs a promise or a function', () => {
    expect(() => lameduck.addTask(42 as never)).toThrow(
      'option "task" must be a promise or a function (signal) => work; received 42 (number)',
    );
  });

  test('shutdown() needs a string reason', async () => {
    await expect(lameduck.shutdown(5 as never)).rejects.toThrow(
      'option "reason" must be a string; received 5 (number)',
    );
    expect(lameduck.state).toBe('serving');
  });
});
