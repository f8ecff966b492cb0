/** inheritedListener(): the socket systemd passes, read from LISTEN_FDS/LISTEN_PID as sd_listen_fds() does. */
import { inheritedListener } from '@lameduck/core';

const pid = String(process.pid);

test('the first passed descriptor, fd 3, when LISTEN_PID is this process', () => {
  expect(inheritedListener({ LISTEN_FDS: '1', LISTEN_PID: pid })).toEqual({ fd: 3 });
  expect(inheritedListener({ LISTEN_FDS: '2', LISTEN_PID: pid })).toEqual({ fd: 3 });
});

test('undefined when not socket-activated, none were passed, or they were meant for another process', () => {
  expect(inheritedListener({})).toBeUndefined();
  expect(inheritedListener({ LISTEN_FDS: '' })).toBeUndefined();
  expect(inheritedListener({ LISTEN_FDS: '0', LISTEN_PID: pid })).toBeUndefined();
  expect(inheritedListener({ LISTEN_FDS: '1', LISTEN_PID: String(process.pid + 1) })).toBeUndefined();
});

test('reads process.env by default', () => {
  expect(inheritedListener()).toBeUndefined();
});

test.each([
  [
    { LISTEN_FDS: 'abc', LISTEN_PID: pid },
    'LISTEN_FDS',
    "environment variable LISTEN_FDS must be a whole number; received 'abc' (string)",
  ],
  [{ LISTEN_FDS: '-1', LISTEN_PID: pid }, 'LISTEN_FDS', "LISTEN_FDS must be a whole number; received '-1' (string)"],
  [
    { LISTEN_FDS: '1' },
    'LISTEN_PID',
    "LISTEN_PID must be the pid of the process LISTEN_FDS is meant for; received '' (string)",
  ],
  [
    { LISTEN_FDS: '1', LISTEN_PID: 'self' },
    'LISTEN_PID',
    "LISTEN_PID must be the pid of the process LISTEN_FDS is meant for; received 'self' (string)",
  ],
])('invalid values throw LAMEDUCK_INVALID_OPTION naming the variable: %j', (env, name, message) => {
  let thrown: unknown;
  try {
    inheritedListener(env);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(TypeError);
  expect(thrown).toMatchObject({ code: 'LAMEDUCK_INVALID_OPTION', option: name });
  expect((thrown as Error).message).toContain(message);
});
