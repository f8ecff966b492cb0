/** The manager `createLameduck()` returns: a small façade that wires the parts each concept lives in. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createPhaseSignals, systemClock, type Clock } from './deadline.js';
import { createError, invalidOption } from './errors.js';
import { createHooks } from './hooks.js';
import { createLog } from './logger.js';
import { resolveOptions, type LameduckOptions, type ResolvedOptions, type SignalOptions } from './options.js';
import { createPhase } from './phase.js';
import { detectPlatform, platformWarnings } from './platform.js';
import { createProbers } from './probers.js';
import { answerProbe, liveness, readiness } from './probes.js';
import { createRejections, isHttp2, rejectRequest, sendPlain } from './responses.js';
import { createShutdown } from './shutdown.js';
import { createSignalHandling } from './signals.js';
import { createTasks } from './tasks.js';
import { createTracker } from './tracker/index.js';
import type {
  AnyRequest,
  AnyResponse,
  AttachableServer,
  CleanupHook,
  HookOptions,
  LameduckState,
  LameduckStats,
  PlainResponse,
  ShutdownResult,
  SignalHandle,
  Task,
} from './types.js';

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
  /**
   * Tells the manager a request arrived, so that a server not attached yet gets attached (adapters
   * find their server this way). A cheap no-op when its socket is known; nothing is kept per request.
   */
  trackRequest(req: AnyRequest, res: AnyResponse): void;
  /**
   * The readiness answer: 200 while serving and every check passes, 503 once shutdown starts. Pass
   * the request when you serve readiness from your own route, so that lameduck learns who probes and
   * how often (`readinessDelay: "auto"`).
   * @example app.get('/health/ready', async (req, res) => send(res, await lameduck.readiness(req)));
   */
  readiness(req?: AnyRequest): Promise<PlainResponse>;
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
  shutdown(reason?: string, options?: { readinessDelay?: number | 'auto' }): Promise<ShutdownResult>;
  /** Resolves when the drain has ended (servers closed or forced), before cleanup hooks run. */
  drained(): Promise<void>;
  /** Opt-in: SIGTERM/SIGINT start the shutdown and the process exits with its code. Uninstallable. */
  handleSignals(options?: SignalOptions): SignalHandle;
  /** Counts for dashboards and tests. */
  stats(): LameduckStats;
}

/** The server `attach()` was given, if it can be one. */
function checkServer(server: AttachableServer): AttachableServer {
  if (server === null || typeof server !== 'object' || typeof server.on !== 'function') {
    throw createError(
      TypeError,
      'LAMEDUCK_INVALID_ARGUMENT',
      'lameduck: attach() takes an http.Server or https.Server (what app.listen() returns)',
    );
  }
  return server;
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
  return createLameduckWithClock(input, systemClock);
}

/** `createLameduck()` reading time from `now`: every deadline, age and duration follows it. Not exported publicly. */
export function createLameduckWithClock(input: LameduckOptions | undefined, now: Clock): Lameduck {
  const options = Object.freeze(resolveOptions(input));
  const log = createLog(options.logger, options.silent);
  const phase = createPhase(log);
  const signals = createPhaseSignals();
  const platform = detectPlatform();
  const probers = createProbers(now);
  // What the probes and the 503 read: the options, and where the manager is now.
  const view = {
    options,
    log,
    now,
    get state() {
      return phase.state;
    },
    get reason() {
      return phase.reason;
    },
    probed: (req: AnyRequest) => probers.record(req, phase.state !== 'serving'),
  };
  const rejections = createRejections(view);
  const tracker = createTracker({ idleGrace: options.idleGrace, refuseUpgrade: rejections.reject, now });
  const tasks = createTasks({ phase, signal: signals.closing });
  const hooks = createHooks(options.hookTimeout);
  const shutdown = createShutdown({
    options,
    log,
    now,
    phase,
    signals,
    tracker,
    tasks,
    hooks,
    rejections,
    probers,
    platform,
  });
  const accepting = (): boolean => phase.state === 'serving' || phase.state === 'lameduck';

  const lameduck: Lameduck = {
    get state() {
      return phase.state;
    },
    get accepting() {
      return accepting();
    },
    signal: signals.closing,
    drainSignal: signals.draining,
    deadlineSignal: signals.nearDeadline,
    options,

    attach(server) {
      tracker.attach(checkServer(server));
      return this;
    },
    detach(server) {
      tracker.detach(server);
      return this;
    },
    trackRequest(req) {
      // Once closed, the tracker is disposed: a stray request must not attach its server again.
      if (phase.state === 'closed' || isHttp2(req) || tracker.knows(req as IncomingMessage)) return;
      tracker.track(req as IncomingMessage);
    },

    readiness: (req) => readiness(view, req),
    liveness: () => liveness(view),
    reject: rejections.reject,
    intercept(req, res) {
      // While serving, the whole cost per request: this state check, a socket check and the probe paths.
      // (An HTTP/2 request's socket is a proxy to its session's socket, which is known too.)
      if (phase.state === 'serving') {
        if (!tracker.knows(req as IncomingMessage)) lameduck.trackRequest(req, res);
        return answerProbe(req, view);
      }
      lameduck.trackRequest(req, res);
      const probe = answerProbe(req, view);
      if (probe !== undefined) return probe;
      if (accepting()) return undefined;
      return rejectRequest(req, res, rejections.reject, options.discardLimit);
    },
    handle(req, res) {
      const answer = lameduck.intercept(req, res);
      if (answer === undefined) return false;
      void answer.then((response) => sendPlain(res as ServerResponse, response, req.method === 'HEAD'));
      return true;
    },

    addHook: (hook, hookOptions) => hooks.add(hook, hookOptions),
    addCloser: (closer, closerOptions) => tasks.addCloser(closer, closerOptions),
    addTask: (task) => tasks.add(task),
    onStateChange: (listener) => phase.onChange(listener),

    shutdown(why, shutdownOptions) {
      if (why !== undefined && typeof why !== 'string') {
        return Promise.reject(invalidOption('reason', 'a string', why));
      }
      const delayMs = shutdownOptions?.readinessDelay ?? options.readinessDelay;
      const valid =
        delayMs === 'auto' ||
        (Number.isInteger(delayMs) && delayMs >= 0 && delayMs + options.cleanupReserve < options.timeout);
      if (!valid) {
        const expected = '"auto" or a whole number of milliseconds from 0, below timeout - cleanupReserve';
        return Promise.reject(invalidOption('readinessDelay', expected, delayMs));
      }
      return shutdown.begin(why ?? 'shutdown() called', delayMs);
    },
    drained: () => shutdown.drained,
    handleSignals: createSignalHandling(
      {
        begin: (why, skipDelay) => shutdown.begin(why, skipDelay ? 0 : options.readinessDelay),
        get state() {
          return phase.state;
        },
        inflight: () => tracker.inflight(),
        onStateChange: (listener) => phase.onChange(listener),
        timeout: options.timeout,
        now,
        warnings: platformWarnings(platform, options.timeout),
      },
      log,
    ),
    stats() {
      return {
        state: phase.state,
        servers: tracker.servers().length,
        connections: tracker.connectionCount(),
        inflight: tracker.inflightCount(),
        upgraded: tracker.upgradedCount(),
        tasks: tasks.size(),
      };
    },
  };
  return lameduck;
}
