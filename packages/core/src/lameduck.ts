/** The drain manager: state, the shutdown sequence under one deadline, hooks, tasks and probes. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { createTracker, type AttachableServer, type InflightRequest } from './connections.js';
import { createError, invalidOption } from './errors.js';
import { discardBody, healthResponse, runChecks, sendPlain, type PlainResponse } from './health.js';
import { runHooks, type CleanupHook, type Hook, type HookFailure, type HookOptions } from './hooks.js';
import { createLog } from './logger.js';
import {
  resolveOptions,
  resolveSignalOptions,
  type LameduckOptions,
  type ResolvedOptions,
  type SignalOptions,
} from './options.js';
import { installSignalHandlers, type SignalHandle } from './signals.js';

/**
 * Where a manager is in its life: `serving`; `lameduck` (readiness fails, requests still served with
 * `Connection: close`); `draining` (listeners closed, in-flight work finishing, late requests get
 * 503); `cleanup` (hooks running); `closed`.
 */
export type LameduckState = 'serving' | 'lameduck' | 'draining' | 'cleanup' | 'closed';

/** Background work: a promise, or a function started at once that receives `lameduck.signal`. */
export type Task<T> = PromiseLike<T> | ((signal: AbortSignal) => T | PromiseLike<T>);

/** What a shutdown did. */
export interface ShutdownResult {
  /** What started it: a signal name, `uncaughtException`, or the reason passed to `shutdown()`. */
  reason: string;
  /** Drained in time and every hook succeeded. */
  graceful: boolean;
  /** The drain deadline was reached and what was left was destroyed. */
  forced: boolean;
  /** 0 when graceful, 1 otherwise: what `handleSignals()` exits with by default. */
  exitCode: 0 | 1;
  /** Requests (and HTTP/2 streams) still in flight when the deadline forced them (method, url, age in ms). */
  stuckRequests: InflightRequest[];
  /** Upgraded connections (WebSockets) still open at the deadline: the upgrade request, and age since it. */
  stuckUpgrades: InflightRequest[];
  /** Sockets destroyed at the deadline. */
  destroyedConnections: number;
  /** Background tasks still running at the deadline. */
  abandonedTasks: number;
  /** Cleanup hooks that threw, rejected, ran out of time or were never started. */
  hookFailures: HookFailure[];
  /** Requests completed after shutdown started, and requests answered 503 because the listener had closed. */
  requests: { completed: number; rejected: number };
  /** Milliseconds spent in each phase, and in all. */
  durations: { lameDuck: number; drain: number; cleanup: number; total: number };
}

/** A request lameduck can look at: HTTP/1 (`node:http`, every framework) or HTTP/2's compatibility API. */
export type AnyRequest = IncomingMessage | Http2ServerRequest;
/** The response that goes with an `AnyRequest`. */
export type AnyResponse = ServerResponse | Http2ServerResponse;

/** A point-in-time view of a manager. */
export interface LameduckStats {
  state: LameduckState;
  servers: number;
  connections: number;
  inflight: number;
  /** Connections handed over by an `upgrade` (WebSockets) and still open. */
  upgraded: number;
  tasks: number;
}

/** The drain manager returned by `createLameduck()`. */
export interface Lameduck {
  /** Where the manager is in its life. */
  readonly state: LameduckState;
  /** True while listeners are open (`serving` and `lameduck`); when false, answer new requests with `reject()`. */
  readonly accepting: boolean;
  /** Aborts the moment shutdown starts: stop taking new background work. */
  readonly signal: AbortSignal;
  /** Aborts when the listener closes and the drain starts: end streams now (a final event, then end). */
  readonly drainSignal: AbortSignal;
  /** Aborts `abortBefore` ms before requests are forced: handlers should finish now. */
  readonly deadlineSignal: AbortSignal;
  /** The validated options, defaults applied. */
  readonly options: Readonly<ResolvedOptions>;
  /** Drains this server on shutdown. Attach before `listen()` to see every socket (see README). */
  attach(server: AttachableServer): this;
  /** Stops tracking this server. */
  detach(server: AttachableServer): this;
  /** Tells the manager a request started; a cheap no-op when its server is attached. Adapters call it. */
  trackRequest(req: AnyRequest, res: AnyResponse): void;
  /** The readiness answer: 200 while serving and every check passes, 503 once shutdown starts. */
  readiness(): Promise<PlainResponse>;
  /** The liveness answer: 200 until the process exits. */
  liveness(): PlainResponse;
  /** The 503 for a request that arrived after the listener closed; counts and logs it. */
  reject(): PlainResponse;
  /**
   * What lameduck answers to this request, if anything: the probe routes (GET and HEAD), and once the
   * listener has closed a 503 for everything else (after discarding up to `discardLimit` bytes of
   * body). `undefined`, synchronously, means "not ours: pass it on". Also tracks the request, like
   * `trackRequest()`. The adapters are built on it.
   * @example const answer = lameduck.intercept(req, res); if (answer === undefined) return next();
   */
  intercept(req: AnyRequest, res: AnyResponse): Promise<PlainResponse> | undefined;
  /**
   * For plain `node:http` servers: `intercept()`, with the answer written. Returns true when it answered.
   * @example http.createServer((req, res) => { if (lameduck.handle(req, res)) return; app(req, res); })
   */
  handle(req: AnyRequest, res: AnyResponse): boolean;
  /** Registers a cleanup hook (run after servers close, last registered first). Returns a remover. */
  addHook(hook: CleanupHook, options?: HookOptions): () => void;
  /**
   * Registers a closer: it runs when the drain starts, to end long-lived connections politely
   * (WebSockets: `close(1001)`), and the drain waits for it like a task. Its signal is
   * `deadlineSignal`. Returns a remover.
   * @example lameduck.addCloser(() => { for (const ws of wss.clients) ws.close(1001, 'server shutting down'); });
   */
  addCloser(closer: (signal: AbortSignal) => unknown, options?: { name?: string }): () => void;
  /** Registers background work that shutdown waits for (within the deadline). Returns its promise. */
  addTask<T>(task: Task<T>): Promise<Awaited<T>>;
  /** Calls `listener` on every state change. Returns an unsubscriber. */
  onStateChange(listener: (state: LameduckState, previous: LameduckState) => void): () => void;
  /**
   * Starts the shutdown. Idempotent: every call returns the same promise, which resolves to the
   * result. `readinessDelay` overrides the option for this shutdown (0 when nothing routes by
   * readiness, say when the application closes itself).
   */
  shutdown(reason?: string, options?: { readinessDelay?: number }): Promise<ShutdownResult>;
  /** Resolves when the drain has ended (servers closed or forced), before cleanup hooks run. */
  drained(): Promise<void>;
  /** Opt-in: SIGTERM/SIGINT start the shutdown and the process exits with its code. Uninstallable. */
  handleSignals(options?: SignalOptions): SignalHandle;
  /** Counts for dashboards and tests. */
  stats(): LameduckStats;
}

const now = (): number => performance.now();
const PROGRESS_INTERVAL = 1_000;
const REJECT_LOG_INTERVAL = 1_000;
const MAX_LOGGED_STUCK = 50;

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Resolves true if `promise` is still pending after `ms`. */
function timedOut(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<boolean>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, ms), true).unref();
  });
  return Promise.race([promise.then(() => false), expired]).finally(() => clearTimeout(timer));
}

function pathOf(url: string | undefined, path: string | false): boolean {
  if (path === false || url === undefined || !url.startsWith(path)) return false;
  return url.length === path.length || url.charCodeAt(path.length) === 63; // '?'
}

/**
 * Creates a drain manager. Importing lameduck does nothing; this sets no timer and no listener
 * until servers are attached or signals handled.
 * @example
 * const lameduck = createLameduck({ timeout: 25_000 });
 * lameduck.attach(server);
 * lameduck.addHook(() => pool.end(), { name: 'db' });
 * lameduck.handleSignals();
 */
export function createLameduck(input?: LameduckOptions): Lameduck {
  const options = Object.freeze(resolveOptions(input));
  const log = createLog(options.logger, options.silent);
  const tracker = createTracker({
    idleGrace: options.idleGrace,
    refuseUpgrade: () => lameduck.reject(),
  });
  const closing = new AbortController();
  const draining = new AbortController();
  const closers: { name: string; closer: (signal: AbortSignal) => unknown }[] = [];
  const nearDeadline = new AbortController();
  const stateListeners = new Set<(state: LameduckState, previous: LameduckState) => void>();
  const hooks: Hook[] = [];
  const tasks = new Set<Promise<unknown>>();
  let tasksDone: (() => void) | undefined;
  let state: LameduckState = 'serving';
  let reason = '';
  let rejected = 0;
  let lastRejectLog = -Infinity;
  let hookCount = 0;
  let result: Promise<ShutdownResult> | undefined;
  let signals: SignalHandle | undefined;
  let drainEnded!: () => void;
  const drained = new Promise<void>((resolve) => {
    drainEnded = resolve;
  });

  function setState(next: LameduckState): void {
    const previous = state;
    state = next;
    for (const listener of stateListeners) {
      try {
        listener(next, previous);
      } catch (error) {
        log.error({ err: error }, 'a state listener threw; ignored');
      }
    }
  }

  function whenTasksDone(): Promise<void> {
    if (tasks.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      tasksDone = resolve;
    });
  }

  /** Logs what is left and the seconds until it is forced; nothing when nothing is left. */
  function logProgress(deadline: number): void {
    const inflight = tracker.inflightCount();
    const connections = tracker.connectionCount();
    if (inflight === 0 && connections === 0 && tasks.size === 0) return;
    const secondsLeft = Math.max(0, Math.round((deadline - now()) / 1000));
    log.info({ inflight, connections, tasks: tasks.size, secondsLeft }, 'draining');
  }

  async function run(delayMs: number): Promise<ShutdownResult> {
    const started = now();
    const deadline = started + options.timeout;
    const drainDeadline = deadline - options.cleanupReserve;
    setState('lameduck');
    closing.abort(createError(Error, 'LAMEDUCK_SHUTTING_DOWN', `lameduck: shutting down (${reason})`));
    tracker.markClosing();
    log.info(
      {
        reason,
        inflight: tracker.inflightCount(),
        connections: tracker.connectionCount(),
        tasks: tasks.size,
        readinessDelay: delayMs,
        timeout: options.timeout,
      },
      'shutdown started: readiness fails now',
    );
    if (delayMs > 0) await delay(delayMs);

    const drainStarted = now();
    setState('draining');
    draining.abort(createError(Error, 'LAMEDUCK_SHUTTING_DOWN', `lameduck: draining (${reason})`));
    for (const { name, closer } of closers) {
      // Awaited like a task; its signal is deadlineSignal: the time to be polite is nearly up.
      const closed = (async () => closer(nearDeadline.signal))();
      void lameduck.addTask(closed).catch((error: unknown) => {
        log.warn({ closer: name, err: error }, 'closer failed');
      });
    }
    const abortTimer = setTimeout(
      () => nearDeadline.abort(createError(Error, 'LAMEDUCK_DEADLINE', 'lameduck: the drain deadline is near')),
      Math.max(0, drainDeadline - options.abortBefore - now()),
    ).unref();
    const progress = setInterval(logProgress, PROGRESS_INTERVAL, drainDeadline).unref();
    const serversClosed = tracker.drain();
    const forced = await timedOut(Promise.all([serversClosed, whenTasksDone()]), drainDeadline - now());
    let stuck: InflightRequest[] = [];
    let upgrades: InflightRequest[] = [];
    let destroyed = 0;
    const abandonedTasks = forced ? tasks.size : 0;
    if (forced) {
      if (!nearDeadline.signal.aborted) {
        nearDeadline.abort(createError(Error, 'LAMEDUCK_DEADLINE', 'lameduck: the drain deadline has passed'));
      }
      ({ stuck, upgrades, destroyed } = tracker.force());
      for (const request of stuck.slice(0, MAX_LOGGED_STUCK)) log.warn(request, 'request forced at the deadline');
      for (const upgrade of upgrades.slice(0, MAX_LOGGED_STUCK)) {
        log.warn(upgrade, 'upgraded connection destroyed at the deadline');
      }
      log.warn(
        { requests: stuck.length, upgrades: upgrades.length, connections: destroyed, tasks: abandonedTasks },
        'drain deadline reached: destroyed what was left',
      );
      await timedOut(serversClosed, deadline - now());
    }
    clearTimeout(abortTimer);
    clearInterval(progress);

    const cleanupStarted = now();
    setState('cleanup');
    drainEnded();
    const hookFailures = await runHooks(hooks, deadline, now, {
      failed: (failure) => log.error({ hook: failure.name, err: failure.error }, 'cleanup hook failed'),
    });
    tracker.dispose();
    const finished = now();
    const graceful = !forced && hookFailures.length === 0;
    const shutdown: ShutdownResult = {
      reason,
      graceful,
      forced,
      exitCode: graceful ? 0 : 1,
      stuckRequests: stuck,
      stuckUpgrades: upgrades,
      destroyedConnections: destroyed,
      abandonedTasks,
      hookFailures,
      requests: { completed: tracker.completedWhileClosing(), rejected },
      durations: {
        lameDuck: Math.round(drainStarted - started),
        drain: Math.round(cleanupStarted - drainStarted),
        cleanup: Math.round(finished - cleanupStarted),
        total: Math.round(finished - started),
      },
    };
    setState('closed');
    const { stuckRequests, stuckUpgrades, hookFailures: failures, ...summary } = shutdown;
    (graceful ? log.info : log.warn)(
      {
        ...summary,
        stuckRequests: stuckRequests.length,
        stuckUpgrades: stuckUpgrades.length,
        hookFailures: failures.map((failure) => failure.name),
      },
      'shutdown complete',
    );
    return shutdown;
  }

  function begin(why: string, delayMs: number): Promise<ShutdownResult> {
    if (result === undefined) {
      reason = why;
      // Assigned before run() starts: run() changes state synchronously, and a state listener that
      // calls shutdown() again must get this same promise, not start a second shutdown.
      let settle!: (value: Promise<ShutdownResult>) => void;
      result = new Promise<ShutdownResult>((resolve) => {
        settle = resolve;
      });
      settle(run(delayMs));
    }
    return result;
  }

  const lameduck: Lameduck = {
    get state() {
      return state;
    },
    get accepting() {
      return state === 'serving' || state === 'lameduck';
    },
    signal: closing.signal,
    drainSignal: draining.signal,
    deadlineSignal: nearDeadline.signal,
    options,

    attach(server) {
      if (server === null || typeof server !== 'object' || typeof server.on !== 'function') {
        throw createError(
          TypeError,
          'LAMEDUCK_INVALID_ARGUMENT',
          'lameduck: attach() takes an http.Server or https.Server (what app.listen() returns)',
        );
      }
      tracker.attach(server);
      return this;
    },
    detach(server) {
      tracker.detach(server);
      return this;
    },
    trackRequest(req, res) {
      // Once closed, the tracker is disposed: a stray request must not attach its server again.
      if (state === 'closed' || req.httpVersionMajor >= 2) return;
      tracker.track(req as IncomingMessage, res as ServerResponse);
    },

    async readiness() {
      if (state !== 'serving') return healthResponse(503, { status: 'shutting down', reason, state });
      if (Object.keys(options.checks).length === 0) return healthResponse(200, { status: 'ready' });
      const { ready, outcomes } = await runChecks(options.checks, options.checkTimeout, options.exposeErrors);
      // A shutdown that started while the checks ran wins.
      if (state !== 'serving') return healthResponse(503, { status: 'shutting down', reason, state });
      return healthResponse(ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks: outcomes });
    },
    liveness() {
      return healthResponse(200, { status: 'alive', state });
    },
    reject() {
      rejected++;
      const time = now();
      if (time - lastRejectLog >= REJECT_LOG_INTERVAL) {
        lastRejectLog = time;
        log.warn({ rejected, state }, 'rejected a request: the listener is closed');
      }
      const body = options.rejectBody ?? { status: 'shutting down', reason };
      const headers: Record<string, string> = {
        'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
        'cache-control': 'no-store',
        'retry-after': String(options.retryAfter),
        ...options.rejectHeaders,
        connection: 'close',
      };
      return { status: 503, headers, body };
    },
    intercept(req, res) {
      lameduck.trackRequest(req, res);
      const method = req.method;
      if (method === 'GET' || method === 'HEAD') {
        if (pathOf(req.url, options.readinessPath)) return lameduck.readiness();
        if (pathOf(req.url, options.livenessPath)) return Promise.resolve(lameduck.liveness());
      }
      if (state === 'serving' || state === 'lameduck') return undefined;
      if (req.httpVersionMajor >= 2) {
        // HTTP/2 has no Connection header: its session got GOAWAY when the drain started.
        const response = lameduck.reject();
        delete response.headers.connection;
        return Promise.resolve(response);
      }
      // Survives frameworks that rewrite headers on their error path (Koa's ctx.onerror).
      (res as ServerResponse).shouldKeepAlive = false;
      return discardBody(req as IncomingMessage, options.discardLimit).then(() => lameduck.reject());
    },
    handle(req, res) {
      const answer = lameduck.intercept(req, res);
      if (answer === undefined) return false;
      void answer.then((response) => sendPlain(res as ServerResponse, response, req.method === 'HEAD'));
      return true;
    },

    addHook(hook, hookOptions) {
      if (typeof hook !== 'function') throw invalidOption('hook', 'a function', hook);
      const name = hookOptions?.name ?? (hook.name === '' ? `hook #${hookCount + 1}` : hook.name);
      const timeout = hookOptions?.timeout ?? options.hookTimeout;
      if (typeof name !== 'string' || name === '') throw invalidOption('name', 'a non-empty string', name);
      if (!Number.isInteger(timeout) || timeout < 1 || timeout > 2_147_483_647) {
        throw invalidOption('timeout', 'a whole number of milliseconds from 1 to 2147483647', timeout);
      }
      hookCount++;
      const entry: Hook = { name, fn: hook, timeout };
      hooks.push(entry);
      return () => {
        const index = hooks.indexOf(entry);
        if (index !== -1) hooks.splice(index, 1);
      };
    },
    addCloser(closer, closerOptions) {
      if (typeof closer !== 'function') throw invalidOption('closer', 'a function', closer);
      const entry = { name: closerOptions?.name ?? (closer.name || `closer #${closers.length + 1}`), closer };
      closers.push(entry);
      return () => {
        const index = closers.indexOf(entry);
        if (index !== -1) closers.splice(index, 1);
      };
    },
    addTask<T>(task: Task<T>): Promise<Awaited<T>> {
      if (state === 'cleanup' || state === 'closed') {
        throw createError(
          Error,
          'LAMEDUCK_SHUTTING_DOWN',
          `lameduck: addTask() after the drain has ended (state "${state}"): the task could not be waited for`,
        );
      }
      let promise: Promise<Awaited<T>>;
      if (typeof task === 'function') {
        promise = (async () => task(closing.signal))() as Promise<Awaited<T>>;
      } else if (task !== null && typeof task === 'object' && typeof task.then === 'function') {
        promise = Promise.resolve(task);
      } else {
        throw invalidOption('task', 'a promise or a function (signal) => work', task);
      }
      const tracked = promise.then(
        () => undefined,
        () => undefined,
      );
      tasks.add(tracked);
      void tracked.then(() => {
        tasks.delete(tracked);
        if (tasks.size === 0 && tasksDone !== undefined) {
          tasksDone();
          tasksDone = undefined;
        }
      });
      return promise;
    },
    onStateChange(listener) {
      stateListeners.add(listener);
      return () => stateListeners.delete(listener);
    },

    shutdown(why, shutdownOptions) {
      if (why !== undefined && typeof why !== 'string') {
        return Promise.reject(invalidOption('reason', 'a string', why));
      }
      const delayMs = shutdownOptions?.readinessDelay ?? options.readinessDelay;
      if (!Number.isInteger(delayMs) || delayMs < 0 || delayMs + options.cleanupReserve >= options.timeout) {
        return Promise.reject(
          invalidOption(
            'readinessDelay',
            'a whole number of milliseconds from 0, below timeout - cleanupReserve',
            delayMs,
          ),
        );
      }
      return begin(why ?? 'shutdown() called', delayMs);
    },
    drained: () => drained,
    handleSignals(signalOptions) {
      if (signals !== undefined) return signals;
      const resolved = resolveSignalOptions(signalOptions);
      signals = installSignalHandlers(
        {
          begin: (why, skipDelay) => begin(why, skipDelay ? 0 : options.readinessDelay),
          get state() {
            return state;
          },
          inflight: () => tracker.inflight(),
          onStateChange: lameduck.onStateChange,
          timeout: options.timeout,
        },
        log,
        resolved,
      );
      const installed = signals;
      const uninstall = installed.uninstall;
      installed.uninstall = () => {
        uninstall();
        if (signals === installed) signals = undefined;
      };
      return installed;
    },
    stats() {
      return {
        state,
        servers: tracker.servers().length,
        connections: tracker.connectionCount(),
        inflight: tracker.inflightCount(),
        upgraded: tracker.upgradedCount(),
        tasks: tasks.size,
      };
    },
  };
  return lameduck;
}
