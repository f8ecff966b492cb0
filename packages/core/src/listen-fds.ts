/** systemd socket activation: the listening socket a service manager passed in (LISTEN_FDS/LISTEN_PID). */
import { createError, describeValue, type LameduckError } from './errors.js';

/** The first descriptor systemd passes (`SD_LISTEN_FDS_START`): fds 0–2 are stdio. */
const FIRST_FD = 3;

/** `server.listen()` options for an inherited listening socket. */
export interface InheritedListener {
  /** The file descriptor to listen on: `3`, the first one passed. */
  fd: number;
}

function invalidEnv(name: string, expected: string, received: string): LameduckError {
  return createError(
    TypeError,
    'LAMEDUCK_INVALID_OPTION',
    `lameduck: environment variable ${name} must be ${expected}; received ${describeValue(received)}`,
    { option: name, received },
  );
}

/**
 * The listening socket passed by socket activation (systemd, `systemd-socket-activate`), as options for
 * `server.listen()`; `undefined` when this process was not socket-activated, so you fall back to a port.
 * Follows `sd_listen_fds()`: the descriptors start at 3, `LISTEN_FDS` counts them and `LISTEN_PID` must
 * be this process (otherwise they were meant for a parent, and are ignored). With several sockets, the
 * first is returned. Invalid values throw `LAMEDUCK_INVALID_OPTION` naming the variable.
 * @example server.listen(inheritedListener() ?? { port: 3000, host: '0.0.0.0' });
 */
export function inheritedListener(env: NodeJS.ProcessEnv = process.env): InheritedListener | undefined {
  const { LISTEN_FDS: count, LISTEN_PID: pid } = env;
  if (count === undefined || count === '') return undefined;
  if (!/^\d+$/.test(count)) throw invalidEnv('LISTEN_FDS', 'a whole number', count);
  if (pid === undefined || !/^[1-9]\d*$/.test(pid)) {
    throw invalidEnv('LISTEN_PID', 'the pid of the process LISTEN_FDS is meant for', pid ?? '');
  }
  if (Number(pid) !== process.pid || Number(count) === 0) return undefined;
  return { fd: FIRST_FD };
}
