/** The contract every example follows: settings from the environment, the routes' work, the ready line. */
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLameduck, inheritedListener, type LameduckError } from '@lameduck/core';

/** A configuration the example cannot run with: one line on stderr, exit code 2 (a usage error), before anything listens. */
function usageError(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

function numberFromEnv(name: string): number | undefined {
  const value = process.env[name];
  if (value === undefined || value === '') return undefined;
  if (!/^\d+$/.test(value)) usageError(`${name} must be a whole number; received ${JSON.stringify(value)}`);
  return Number(value);
}

/** The environment variable behind each lameduck option the examples take. */
const ENV_OF_OPTION = {
  timeout: 'SHUTDOWN_TIMEOUT_MS',
  readinessDelay: 'READINESS_DELAY_MS',
  idleGrace: 'IDLE_GRACE_MS',
} as const;

/** The Prometheus scrape route, kept serving after the listener closes (see `metricsRoute`). */
export const METRICS_PATH = '/metrics';

function lameduckFromEnv(): {
  timeout?: number;
  readinessDelay?: number | 'auto';
  idleGrace?: number;
  keepServing: string[];
} {
  const options = {
    timeout: numberFromEnv(ENV_OF_OPTION.timeout),
    // "auto" (lameduck's default) can also be named explicitly.
    readinessDelay:
      process.env[ENV_OF_OPTION.readinessDelay] === 'auto'
        ? ('auto' as const)
        : numberFromEnv(ENV_OF_OPTION.readinessDelay),
    idleGrace: numberFromEnv(ENV_OF_OPTION.idleGrace),
    keepServing: [METRICS_PATH],
  };
  try {
    // The adapters validate the same way, but their error names lameduck's options, not the variables.
    createLameduck({ ...options, silent: true });
  } catch (error) {
    if ((error as LameduckError).code !== 'LAMEDUCK_INVALID_OPTION') throw error;
    const given = Object.values(ENV_OF_OPTION)
      .filter((name) => process.env[name])
      .map((name) => `${name}=${process.env[name]}`);
    const rule = (error as Error).message.replace(/^lameduck: option /, "lameduck's ");
    usageError(`${given.join(', ')}: ${rule}`);
  }
  return options;
}

/** The socket systemd passed in (LISTEN_FDS/LISTEN_PID), or else the port and host. */
function listenFromEnv(port: number, host: string): { fd: number } | { port: number; host: string } {
  try {
    return inheritedListener() ?? { port, host };
  } catch (error) {
    usageError((error as Error).message);
  }
}

const port = numberFromEnv('PORT') ?? 3000;
const host = process.env.HOST || '0.0.0.0';

/**
 * `PORT` (3000), `HOST` (0.0.0.0), and lameduck's `timeout`, `readinessDelay` and `idleGrace` from the
 * environment; `/metrics` kept serving during the drain. `listen` is what to pass to `listen()`: the socket systemd passed in when socket-activated (`PORT` and
 * `HOST` are then ignored), otherwise the port and host.
 */
export const settings = {
  port,
  host,
  listen: listenFromEnv(port, host),
  lameduck: lameduckFromEnv(),
};

/** `/slow?ms=N`: N ms of work, cut short when `signal` (lameduck's deadlineSignal) fires first. */
export function slow(ms: number, signal: AbortSignal): Promise<string> {
  return sleep(ms, undefined, { signal }).then(
    () => `done after ${ms} ms\n`,
    () => 'stopped early: the shutdown deadline is near\n',
  );
}

/** `/events`: a server-sent event every second; a final event and the end once `signal` (drainSignal) fires. */
export function eventStream(signal: AbortSignal): PassThrough {
  const stream = new PassThrough();
  let count = 0;
  stream.write(`data: ${count}\n\n`);
  const timer = setInterval(() => stream.write(`data: ${++count}\n\n`), 1000);
  const end = () => {
    clearInterval(timer);
    stream.end('event: bye\ndata: server shutting down\n\n');
  };
  if (signal.aborted) end();
  else signal.addEventListener('abort', end, { once: true });
  stream.on('close', () => clearInterval(timer));
  return stream;
}

export const EVENT_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-store' };

/** The line the examples' users (and tests) wait for: `{"event":"listening","port":…,"framework":…}`. */
export function announce(port: number, framework: string): void {
  console.log(JSON.stringify({ event: 'listening', port, framework }));
}
