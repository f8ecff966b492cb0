/** lameduck's options: their types and documentation, the one frozen DEFAULTS, and validation. */
import { invalidOption } from './errors.js';
import { lameDuckCap } from './probers.js';
import type { CheckSpec, Logger, ReadinessCheck, ShutdownResult } from './types.js';

/** Options of `createLameduck()`. Every duration is in milliseconds unless it says otherwise. */
export interface LameduckOptions {
  /**
   * The one deadline: from the start of shutdown to its result, everything (readiness delay, drain,
   * cleanup hooks) fits inside it. Keep it below your orchestrator's grace period (Kubernetes:
   * `terminationGracePeriodSeconds`, 30 s by default).
   * @default 25000
   * @example createLameduck({ timeout: 50_000 }) // with terminationGracePeriodSeconds: 60
   */
  timeout?: number;
  /**
   * Lame-duck phase: after shutdown starts, readiness fails at once but requests are still served
   * normally (with `Connection: close`) until load balancers have moved traffic away; then the
   * listener closes. `"auto"` ends it on evidence: lameduck remembers who probes readiness (the
   * readiness route, `lameduck.probed()`: gRPC health `Check`) and how often, and waits until every
   * prober active before the signal has been answered `503` `readinessFailures` times, plus one of
   * its intervals (or has stopped probing; the kubelet's `kube-probe` is not waited for, Kubernetes
   * ignores it for a terminating pod); at least
   * `minReadinessDelay`; at most `timeout - cleanupReserve` less a drain window (a quarter of it, up
   * to 5 s). Nobody probing (a laptop, a test) means no wait at all. A number of milliseconds is a
   * fixed phase, as before (`0`: none).
   * @default "auto"
   * @example createLameduck({ readinessDelay: 10_000 }) // fixed: 10 s, probes or not
   */
  readinessDelay?: number | 'auto';
  /**
   * With `readinessDelay: "auto"`: how many `503` answers each readiness prober must have received
   * before the listener closes. 3 is what the common probers need to act: HAProxy's `fall` and
   * Kubernetes' `failureThreshold` default to 3 (AWS and Google Cloud balancers to 2). Lower it to
   * match a prober set to act sooner.
   * @default 3
   * @example createLameduck({ readinessFailures: 1 }) // HAProxy with `fall 1`
   */
  readinessFailures?: number;
  /**
   * With `readinessDelay: "auto"`: the shortest lame-duck phase, probes or not. `"auto"` is 5000 in
   * Kubernetes (the kubelet sets `KUBERNETES_SERVICE_HOST`), where endpoints are removed on
   * termination and proxies learn it seconds later, which no probe shows; 0 elsewhere.
   * @default "auto"
   * @example createLameduck({ minReadinessDelay: 10_000 }) // a cloud balancer that deregisters slowly
   */
  minReadinessDelay?: number | 'auto';
  /**
   * Time kept at the end of `timeout` for cleanup hooks: requests still running
   * `timeout - cleanupReserve` after shutdown started are forced, so hooks always get to run. When not
   * set, it is 5000 or a fifth of `timeout`, whichever is less.
   * @default 5000
   * @example createLameduck({ timeout: 25_000, cleanupReserve: 8_000 })
   */
  cleanupReserve?: number;
  /**
   * How long one cleanup hook may run before it is abandoned and the next one starts (a hook can
   * set its own). Hooks are also cut off at `timeout`.
   * @default 3000
   * @example createLameduck({ hookTimeout: 1_000 })
   */
  hookTimeout?: number;
  /**
   * While draining, a socket with no request in flight is closed once it has been quiet (no byte
   * received) this long, and at the latest twice this long after the drain started or its last
   * response ended, even if bytes keep arriving without completing a request (a slowloris, a very
   * slow client). The grace avoids the race in which a client sends its next request on a reused
   * socket at the moment the server closes it.
   * @default 500
   * @example createLameduck({ idleGrace: 250 })
   */
  idleGrace?: number;
  /**
   * `lameduck.deadlineSignal` aborts this long before requests are forced, so handlers can
   * finish early (end a stream, return partial results). Must be less than the drain window,
   * `timeout - readinessDelay - cleanupReserve`. When not set, it is 1000 or a fifth of that window,
   * whichever is less.
   * @default 1000
   * @example createLameduck({ abortBefore: 3_000 })
   */
  abortBefore?: number;
  /**
   * Readiness checks run on every readiness request while serving (a database ping, say); any that
   * throws, returns `false` or takes longer than `checkTimeout` makes readiness fail with 503. A check
   * given as `{ check, interval }` runs in the background every `interval` ms instead (from the first
   * readiness request, which waits for its first run), and probes answer its last result at once. Each check also has
   * its own route, `<readinessPath>/<name>`.
   * @default {}
   * @example createLameduck({ checks: { db: () => pool.query('select 1'), s3: { check: pingS3, interval: 10_000 } } })
   */
  checks?: Record<string, CheckSpec>;
  /**
   * How long each readiness check may take.
   * @default 1000
   * @example createLameduck({ checkTimeout: 500 })
   */
  checkTimeout?: number;
  /**
   * Put the messages of failed readiness checks in the readiness body. Off by default: a public
   * probe endpoint should not leak internal errors.
   * @default false
   * @example createLameduck({ exposeErrors: process.env.NODE_ENV !== 'production' })
   */
  exposeErrors?: boolean;
  /**
   * Path of the readiness route served by `handle()` and the adapters, or `false` for none.
   * @default "/readyz"
   * @example createLameduck({ readinessPath: '/health/ready' })
   */
  readinessPath?: string | false;
  /**
   * Path of the liveness route served by `handle()` and the adapters, or `false` for none.
   * @default "/livez"
   * @example createLameduck({ livenessPath: false })
   */
  livenessPath?: string | false;
  /**
   * Path of the startup route served by `handle()` and the adapters, or `false` for none: `200` once
   * startup has finished (see `awaitStartup` and `addStartupTask()`), `503` before.
   * @default "/startupz"
   * @example createLameduck({ startupPath: '/health/started' })
   */
  startupPath?: string | false;
  /**
   * Startup gating: readiness and the startup route answer `503` ("starting") until
   * `lameduck.markStarted()` is called. Registering startup work with `addStartupTask()` gates them
   * too, without this option.
   * @default false
   * @example createLameduck({ awaitStartup: true }) // then, once connected: lameduck.markStarted()
   */
  awaitStartup?: boolean;
  /**
   * Liveness fails (`503`, so the orchestrator restarts the process) while the event loop has been
   * delayed more than this many milliseconds in the last one to two seconds, as Node's
   * `perf_hooks.monitorEventLoopDelay` measures it. `false`: no such check.
   * @default false
   * @example createLameduck({ maxEventLoopDelay: 1_000 })
   */
  maxEventLoopDelay?: number | false;
  /**
   * A worker thread that watches the main thread during shutdown. If the main thread is still stuck
   * when `timeout` has passed (a hook or a handler in a synchronous loop), it writes one line naming
   * where (the JavaScript stack, the hook, the request) and, with `handleSignals()`, ends the process
   * with exit code 1 within `timeout` plus 2.2 s (see docs/how-it-works.md). `"shutdown"`: it starts
   * when shutdown starts, nothing runs before. `"always"`: it starts with the first `attach()`, for
   * `stallWarning` in normal operation too (one idle worker: about 10 MB of memory). `false`: none.
   * @default "shutdown"
   * @example createLameduck({ watchdog: 'always', stallWarning: 500 })
   */
  watchdog?: 'shutdown' | 'always' | false;
  /**
   * While the watchdog runs: a main thread blocked longer than this many milliseconds is logged once it
   * recovers, once per stall, with the stack where it was blocked (`"event loop was blocked"`).
   * `false`: no such warning (the deadline still holds).
   * @default 1000
   * @example createLameduck({ stallWarning: 250 })
   */
  stallWarning?: number | false;
  /**
   * Paths still handed to the application in the drain's last `abortBefore`, instead of answered with
   * `503` (a `/metrics` scrape on a kept-alive connection, say); before that, every request arriving
   * after the listener closed is handed to it. Matched exactly, query string aside.
   * Their requests are drained like any other: forced at the deadline.
   * @default []
   * @example createLameduck({ keepServing: ['/metrics'] })
   */
  keepServing?: string[];
  /**
   * Seconds sent in `Retry-After` on the 503 answered to requests that arrive after the listener closed.
   * @default 5
   * @example createLameduck({ retryAfter: 1 })
   */
  retryAfter?: number;
  /**
   * Body of the 503 for requests that arrive after the listener closed: a string (sent as text) or an
   * object (sent as JSON). By default `{"status":"shutting down","reason":…}`.
   * @default undefined
   * @example createLameduck({ rejectBody: { error: 'maintenance', docs: 'https://status.example.com' } })
   */
  rejectBody?: string | Record<string, unknown>;
  /**
   * Extra headers on that 503 (`Connection: close` is always sent; `Retry-After` can be replaced here).
   * @default {}
   * @example createLameduck({ rejectHeaders: { 'x-instance': os.hostname() } })
   */
  rejectHeaders?: Record<string, string>;
  /**
   * A request rejected with 503 while its body is still arriving (an upload) has up to this many bytes
   * of body read and discarded first, so the client receives the 503 instead of a reset. Larger bodies
   * are answered at once. Any response that closes its connection during the drain while the body is
   * still arriving (the 503, or a served one that left the body unread) closes it lingering: half-closed
   * after the response, what still arrives read and discarded until the client stops sending (quiet for
   * `idleGrace`), for at most `2 × idleGrace` and the declared body plus this many bytes, so that a
   * client writing its whole body before reading still gets its response.
   * @default 1048576
   * @example createLameduck({ discardLimit: 10 * 1024 * 1024 })
   */
  discardLimit?: number;
  /**
   * A pino-compatible logger (`info`, `warn`, `error`, each taking an object first and a message).
   * By default lameduck writes JSON lines to stderr.
   * @default undefined
   * @example createLameduck({ logger: pino() })
   */
  logger?: Logger;
  /**
   * Log nothing at all.
   * @default false
   * @example createLameduck({ silent: true })
   */
  silent?: boolean;
}

/** Options of `lameduck.handleSignals()`: the opt-in helper that owns the process. */
export interface SignalOptions {
  /**
   * Signals that start the shutdown. A repeat of any of them while shutting down forces an exit.
   * @default ["SIGTERM","SIGINT"]
   * @example lameduck.handleSignals({ signals: ['SIGTERM', 'SIGINT', 'SIGHUP'] })
   */
  signals?: NodeJS.Signals[];
  /**
   * Repeats arriving within this long of the first signal are the same event (a process group and a
   * wrapper both forwarding one Ctrl+C, say) and do not force.
   * @default 250
   * @example lameduck.handleSignals({ repeatWindow: 1_000 })
   */
  repeatWindow?: number;
  /**
   * Also drain on `uncaughtException` and `unhandledRejection` (logged, then exit 1).
   * @default false
   * @example lameduck.handleSignals({ handleErrors: true })
   */
  handleErrors?: boolean;
  /**
   * The exit code once shutdown has finished; by default 0 when graceful, 1 when forced or a hook failed.
   * @default undefined
   * @example lameduck.handleSignals({ exitCode: (result) => (result.forced ? 2 : 0) })
   */
  exitCode?: (result: ShutdownResult) => number;
}

/** The defaults of every option, frozen. The README's tables are tested against it. */
export const DEFAULTS = Object.freeze({
  timeout: 25_000,
  readinessDelay: 'auto' as number | 'auto',
  readinessFailures: 3,
  minReadinessDelay: 'auto' as number | 'auto',
  cleanupReserve: 5_000,
  hookTimeout: 3_000,
  idleGrace: 500,
  abortBefore: 1_000,
  checks: Object.freeze({}) as Readonly<Record<string, CheckSpec>>,
  checkTimeout: 1_000,
  exposeErrors: false,
  readinessPath: '/readyz' as string | false,
  livenessPath: '/livez' as string | false,
  startupPath: '/startupz' as string | false,
  awaitStartup: false,
  maxEventLoopDelay: false as number | false,
  watchdog: 'shutdown' as 'shutdown' | 'always' | false,
  stallWarning: 1_000 as number | false,
  keepServing: Object.freeze([]) as readonly string[],
  retryAfter: 5,
  rejectBody: undefined as string | Record<string, unknown> | undefined,
  rejectHeaders: Object.freeze({}) as Readonly<Record<string, string>>,
  discardLimit: 1_048_576,
  logger: undefined as Logger | undefined,
  silent: false,
  signals: Object.freeze(['SIGTERM', 'SIGINT']) as readonly NodeJS.Signals[],
  repeatWindow: 250,
  handleErrors: false,
  exitCode: undefined as SignalOptions['exitCode'],
  lameduck: undefined,
  handleSignals: true as boolean | SignalOptions,
});

/** Options after validation, with every default applied. */
export type ResolvedOptions = Required<Omit<LameduckOptions, 'logger' | 'rejectBody' | 'checks' | 'keepServing'>> & {
  /** The readiness checks, frozen (`{}` when none). */
  checks: Readonly<Record<string, CheckSpec>>;
  /** Paths served after the listener closed, frozen (`[]` when none). */
  keepServing: readonly string[];
  /** The logger given, or `undefined` for lameduck's own lines on stderr. */
  logger: Logger | undefined;
  /** The body of the `503`, or `undefined` for the default JSON. */
  rejectBody: string | Record<string, unknown> | undefined;
};
/** Signal options after validation, with every default applied. */
export type ResolvedSignalOptions = Required<Omit<SignalOptions, 'exitCode'>> & {
  exitCode: SignalOptions['exitCode'];
};

/** setTimeout's largest delay; anything longer fires at once. */
const MAX_DELAY = 2_147_483_647;
const LOGGER_METHODS = ['info', 'warn', 'error'] as const;
const MANAGER_KEYS: ReadonlySet<string> = new Set([
  'timeout',
  'readinessDelay',
  'readinessFailures',
  'minReadinessDelay',
  'cleanupReserve',
  'hookTimeout',
  'idleGrace',
  'abortBefore',
  'checks',
  'checkTimeout',
  'exposeErrors',
  'readinessPath',
  'livenessPath',
  'startupPath',
  'awaitStartup',
  'maxEventLoopDelay',
  'watchdog',
  'stallWarning',
  'keepServing',
  'retryAfter',
  'rejectBody',
  'rejectHeaders',
  'discardLimit',
  'logger',
  'silent',
]);
const SIGNAL_KEYS: ReadonlySet<string> = new Set(['signals', 'repeatWindow', 'handleErrors', 'exitCode']);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function checkKeys(name: string, options: unknown, known: ReadonlySet<string>): Record<string, unknown> {
  if (options === undefined) return {};
  if (!isPlainObject(options)) throw invalidOption(name, 'an object', options);
  for (const key of Object.keys(options)) {
    if (!known.has(key)) {
      throw invalidOption(key, `one of the known options (${[...known].join(', ')})`, options[key]);
    }
  }
  return options;
}

function duration(
  options: Record<string, unknown>,
  key: string,
  fallback: number,
  min: 0 | 1,
  name = key,
  alternative = '',
): number {
  const value = options[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > MAX_DELAY) {
    const lower = min === 0 ? 'a whole number of milliseconds from 0' : 'a whole number of milliseconds from 1';
    throw invalidOption(name, `${lower} to ${MAX_DELAY}${alternative}`, value);
  }
  return value;
}

/** A duration, or `"auto"`. */
function durationOrAuto(options: Record<string, unknown>, key: string, fallback: number | 'auto'): number | 'auto' {
  const value = options[key];
  if (value === undefined) return fallback;
  if (value === 'auto') return 'auto';
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_DELAY) {
    throw invalidOption(key, `"auto" or a whole number of milliseconds from 0 to ${MAX_DELAY}`, value);
  }
  return value;
}

function boolean(options: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const value = options[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidOption(key, 'true or false', value);
  return value;
}

function path(
  options: Record<string, unknown>,
  key: string,
  fallback: string | false,
  name = key,
  allowFalse = true,
): string | false {
  const value = options[key];
  if (value === undefined) return fallback;
  if (value === false && allowFalse) return false;
  if (typeof value !== 'string' || !value.startsWith('/') || /[?#\s]/.test(value)) {
    const expected = 'a path starting with "/" (no query, fragment or spaces)';
    throw invalidOption(name, allowFalse ? `${expected}, or false` : expected, value);
  }
  return value;
}

function logger(options: Record<string, unknown>): Logger | undefined {
  const value = options.logger;
  if (value === undefined) return undefined;
  const ok =
    typeof value === 'object' &&
    value !== null &&
    LOGGER_METHODS.every((method) => typeof (value as Record<string, unknown>)[method] === 'function');
  if (!ok) throw invalidOption('logger', 'an object with info, warn and error functions (pino, say)', value);
  return value as Logger;
}

function checks(options: Record<string, unknown>): Readonly<Record<string, CheckSpec>> {
  const value = options.checks;
  if (value === undefined) return DEFAULTS.checks;
  if (!isPlainObject(value)) throw invalidOption('checks', 'an object of named functions', value);
  const resolved: Record<string, CheckSpec> = {};
  for (const [name, check] of Object.entries(value)) {
    // The name is a path segment (`/readyz/<name>`) and a word in the plain-text list.
    if (!/^[\w.-]+$/.test(name)) throw invalidOption(`checks["${name}"]`, 'named with letters, digits, _ . or -', name);
    if (name === 'startup' || name === 'shutdown') {
      throw invalidOption(`checks.${name}`, 'named otherwise: "startup" and "shutdown" are built in', check);
    }
    if (typeof check === 'function') {
      resolved[name] = check as ReadinessCheck;
      continue;
    }
    const spec = check as Record<string, unknown>;
    if (
      !isPlainObject(spec) ||
      typeof spec.check !== 'function' ||
      Object.keys(spec).some((k) => k !== 'check' && k !== 'interval')
    ) {
      throw invalidOption(`checks.${name}`, 'a function, or { check: function, interval: milliseconds }', check);
    }
    resolved[name] = Object.freeze({
      check: spec.check as ReadinessCheck,
      interval: duration(spec, 'interval', 0, 1, `checks.${name}.interval`),
    });
  }
  return Object.freeze(resolved);
}

function eventLoopDelay(options: Record<string, unknown>): number | false {
  const value = options.maxEventLoopDelay;
  if (value === undefined || value === false) return DEFAULTS.maxEventLoopDelay;
  return duration(options, 'maxEventLoopDelay', 0, 1, 'maxEventLoopDelay', ', or false');
}

function watchdog(options: Record<string, unknown>): 'shutdown' | 'always' | false {
  const value = options.watchdog;
  if (value === undefined) return DEFAULTS.watchdog;
  if (value !== 'shutdown' && value !== 'always' && value !== false) {
    throw invalidOption('watchdog', '"shutdown", "always" or false', value);
  }
  return value;
}

function stallWarning(options: Record<string, unknown>): number | false {
  const value = options.stallWarning;
  if (value === undefined) return DEFAULTS.stallWarning;
  if (value === false) return false;
  return duration(options, 'stallWarning', 0, 1, 'stallWarning', ', or false');
}

function keepServing(options: Record<string, unknown>): readonly string[] {
  const value = options.keepServing;
  if (value === undefined) return DEFAULTS.keepServing;
  if (!Array.isArray(value)) throw invalidOption('keepServing', 'an array of paths like "/metrics"', value);
  return Object.freeze(
    value.map(
      (_, index) =>
        path(
          value as unknown as Record<string, unknown>,
          String(index),
          false,
          `keepServing[${index}]`,
          false,
        ) as string,
    ),
  );
}

/** Validates `createLameduck()` options and applies the defaults. Never mutates its argument. */
export function resolveOptions(input?: LameduckOptions): ResolvedOptions {
  const options = checkKeys('options', input, MANAGER_KEYS);
  const timeout = duration(options, 'timeout', DEFAULTS.timeout, 1);
  // Phases left unset shrink to fit a short timeout; only values the caller chose can conflict with it.
  const phase = (fallback: number) => Math.min(fallback, Math.floor(timeout / 5));
  const resolved: ResolvedOptions = {
    timeout,
    readinessDelay: durationOrAuto(options, 'readinessDelay', DEFAULTS.readinessDelay),
    readinessFailures: readinessFailures(options),
    minReadinessDelay: durationOrAuto(options, 'minReadinessDelay', DEFAULTS.minReadinessDelay),
    cleanupReserve: duration(options, 'cleanupReserve', phase(DEFAULTS.cleanupReserve), 0),
    hookTimeout: duration(options, 'hookTimeout', DEFAULTS.hookTimeout, 1),
    idleGrace: duration(options, 'idleGrace', DEFAULTS.idleGrace, 0),
    abortBefore: DEFAULTS.abortBefore, // set below, from the drain window
    checks: checks(options),
    checkTimeout: duration(options, 'checkTimeout', DEFAULTS.checkTimeout, 1),
    exposeErrors: boolean(options, 'exposeErrors', DEFAULTS.exposeErrors),
    readinessPath: path(options, 'readinessPath', DEFAULTS.readinessPath),
    livenessPath: path(options, 'livenessPath', DEFAULTS.livenessPath),
    startupPath: path(options, 'startupPath', DEFAULTS.startupPath),
    awaitStartup: boolean(options, 'awaitStartup', DEFAULTS.awaitStartup),
    maxEventLoopDelay: eventLoopDelay(options),
    watchdog: watchdog(options),
    stallWarning: stallWarning(options),
    keepServing: keepServing(options),
    retryAfter: retryAfter(options),
    rejectBody: rejectBody(options),
    rejectHeaders: rejectHeaders(options),
    discardLimit: discardLimit(options),
    logger: logger(options),
    silent: boolean(options, 'silent', DEFAULTS.silent),
  };
  // "auto" keeps a drain window of its own (see lameDuckCap): only a fixed delay can leave none.
  const fixedDelay = resolved.readinessDelay === 'auto' ? undefined : resolved.readinessDelay;
  if (fixedDelay !== undefined && fixedDelay + resolved.cleanupReserve >= resolved.timeout) {
    const sum = fixedDelay + resolved.cleanupReserve;
    throw invalidOption(
      'timeout',
      `greater than readinessDelay + cleanupReserve (${resolved.readinessDelay} + ${resolved.cleanupReserve} = ${sum}) so requests get time to drain`,
      resolved.timeout,
    );
  }
  const longestDelay = fixedDelay ?? lameDuckCap(resolved.timeout, resolved.cleanupReserve);
  const window = resolved.timeout - longestDelay - resolved.cleanupReserve;
  // Unset, it shrinks with the drain window as the other budgets do with timeout, so that a short
  // timeout (PM2's 1.6 s kill_timeout, say) does not tell handlers to stop the moment the drain starts.
  resolved.abortBefore = duration(options, 'abortBefore', Math.min(DEFAULTS.abortBefore, Math.floor(window / 5)), 0);
  if (resolved.abortBefore >= window) {
    throw invalidOption(
      'abortBefore',
      `less than the drain window, timeout - readinessDelay - cleanupReserve (${resolved.timeout} - ${longestDelay} - ${resolved.cleanupReserve} = ${window}), so requests get time to finish`,
      resolved.abortBefore,
    );
  }
  if (resolved.readinessPath !== false && resolved.readinessPath === resolved.livenessPath) {
    throw invalidOption('livenessPath', 'different from readinessPath', resolved.livenessPath);
  }
  if (
    resolved.startupPath !== false &&
    (resolved.startupPath === resolved.readinessPath || resolved.startupPath === resolved.livenessPath)
  ) {
    throw invalidOption('startupPath', 'different from readinessPath and livenessPath', resolved.startupPath);
  }
  return resolved;
}

function readinessFailures(options: Record<string, unknown>): number {
  const value = options.readinessFailures;
  if (value === undefined) return DEFAULTS.readinessFailures;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 100) {
    throw invalidOption('readinessFailures', 'a whole number from 1 to 100', value);
  }
  return value;
}

function retryAfter(options: Record<string, unknown>): number {
  const value = options.retryAfter;
  if (value === undefined) return DEFAULTS.retryAfter;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 86_400) {
    throw invalidOption('retryAfter', 'a whole number of seconds from 0 to 86400', value);
  }
  return value;
}

function rejectBody(options: Record<string, unknown>): string | Record<string, unknown> | undefined {
  const value = options.rejectBody;
  if (value === undefined || typeof value === 'string') return value;
  if (!isPlainObject(value)) throw invalidOption('rejectBody', 'a string or a plain object (sent as JSON)', value);
  return Object.freeze({ ...value });
}

function rejectHeaders(options: Record<string, unknown>): Readonly<Record<string, string>> {
  const value = options.rejectHeaders;
  if (value === undefined) return DEFAULTS.rejectHeaders;
  if (!isPlainObject(value)) throw invalidOption('rejectHeaders', 'an object of header names to string values', value);
  const headers: Record<string, string> = {};
  for (const [name, header] of Object.entries(value)) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name))
      throw invalidOption(`rejectHeaders["${name}"]`, 'a valid header name', name);
    if (typeof header !== 'string') throw invalidOption(`rejectHeaders.${name}`, 'a string', header);
    if (name.toLowerCase() === 'connection') {
      throw invalidOption(`rejectHeaders.${name}`, 'left out: the 503 always closes its connection', header);
    }
    headers[name.toLowerCase()] = header;
  }
  return Object.freeze(headers);
}

function discardLimit(options: Record<string, unknown>): number {
  const value = options.discardLimit;
  if (value === undefined) return DEFAULTS.discardLimit;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > Number.MAX_SAFE_INTEGER) {
    throw invalidOption('discardLimit', 'a whole number of bytes from 0', value);
  }
  return value;
}

/** Validates `handleSignals()` options and applies the defaults. Never mutates its argument. */
export function resolveSignalOptions(input?: SignalOptions): ResolvedSignalOptions {
  const options = checkKeys('signal options', input, SIGNAL_KEYS);
  let signals: NodeJS.Signals[] = [...DEFAULTS.signals];
  if (options.signals !== undefined) {
    const value = options.signals;
    const ok =
      Array.isArray(value) &&
      value.length > 0 &&
      value.every((signal) => typeof signal === 'string' && /^SIG[A-Z0-9]+$/.test(signal)) &&
      !value.some((signal) => signal === 'SIGKILL' || signal === 'SIGSTOP');
    if (!ok) throw invalidOption('signals', 'a non-empty array of catchable signal names like "SIGTERM"', value);
    signals = [...new Set(value as NodeJS.Signals[])];
  }
  const exitCode = options.exitCode;
  if (exitCode !== undefined && typeof exitCode !== 'function') {
    throw invalidOption('exitCode', 'a function (result) => number', exitCode);
  }
  return {
    signals,
    repeatWindow: duration(options, 'repeatWindow', DEFAULTS.repeatWindow, 0),
    handleErrors: boolean(options, 'handleErrors', DEFAULTS.handleErrors),
    exitCode: exitCode as SignalOptions['exitCode'],
  };
}
