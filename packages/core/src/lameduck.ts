/** The manager `createLameduck()` returns: a small façade that wires the parts each concept lives in. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createAvailability, type Availability } from './availability.js';
import { createEvents, type Events } from './channels.js';
import { wrapFetch, type FetchInfo } from './fetch/handler.js';
import { createFetchRequests } from './fetch/requests.js';
import { createFetchServers, isFetchServer, type FetchServer } from './fetch/servers.js';
import { createChecks } from './checks.js';
import { createPhaseSignals, systemClock, type Clock } from './deadline.js';
import { createError, invalidOption } from './errors.js';
import { createHooks } from './hooks.js';
import { withGetters } from './getters.js';
import { createLog } from './logger.js';
import { resolveOptions, type LameduckOptions, type ResolvedOptions, type SignalOptions } from './options.js';
import { createPhase, type Phase } from './phase.js';
import { detectPlatform, platformWarnings } from './platform.js';
import { checkProbeOrigin, createProbers } from './probers.js';
import { answerProbe, liveness, matchesPath, probeQuery, readiness, startup, type ProbeQuery } from './probes.js';
import { createRejections, isHttp2, rejectRequest, sendPlain, type Rejections } from './responses.js';
import { createServingPath } from './serving-path.js';
import { createShutdown } from './shutdown.js';
import { createSignalHandling } from './signals.js';
import { createTargets, isDrainable, type Drainable } from './targets.js';
import { createTasks, type Tasks } from './tasks.js';
import { createTracker, type Tracker } from './tracker/index.js';
import { createWatchdog, lineFormat } from './watchdog/index.js';
import type {
  AnyRequest,
  AnyResponse,
  AttachableServer,
  CleanupHook,
  HookOptions,
  LameduckState,
  LameduckStats,
  PlainResponse,
  ProbeOrigin,
  ShutdownResult,
  SignalHandle,
  Task,
} from './types.js';

/** The drain manager returned by `createLameduck()`. */
export interface Lameduck {
  /** Where the manager is in its life. */
  readonly state: LameduckState;
  /**
   * True while listeners are open (`serving` and `lameduck`). After that `intercept()` still hands
   * requests to the application until the drain's last `abortBefore`, then answers them `reject()`.
   */
  readonly accepting: boolean;
  /** Aborts the moment shutdown starts: stop taking new background work. */
  readonly signal: AbortSignal;
  /** Aborts when the listener closes and the drain starts: end streams now (a final event, then end). */
  readonly drainSignal: AbortSignal;
  /** Aborts `abortBefore` ms before requests are forced: handlers should finish now. */
  readonly deadlineSignal: AbortSignal;
  /** The validated options, defaults applied. */
  readonly options: Readonly<ResolvedOptions>;
  /**
   * Drains this server on shutdown. Attach before `listen()` to see every socket (see README). Also
   * takes the server `Bun.serve()` or `Deno.serve()` returns (its requests go through `fetch()` or
   * `interceptFetch()`), and a `Drainable` from an adapter package (a gRPC server, say).
   */
  attach(server: AttachableServer | FetchServer | Drainable): this;
  /** Stops tracking this server. */
  detach(server: AttachableServer | FetchServer | Drainable): this;
  /**
   * Tells the manager a request arrived, so that a server not attached yet gets attached (adapters
   * find their server this way). A cheap no-op when its socket is known; nothing is kept per request.
   */
  trackRequest(req: AnyRequest, res: AnyResponse): void;
  /**
   * The readiness answer: 200 while serving, started and every check passes, 503 otherwise. Given a
   * request, it answers its query as the route does (`?verbose`, `?exclude=`). Pass the request when
   * you serve readiness from your own route, so that lameduck learns who probes and how often
   * (`readinessDelay: "auto"`).
   * @example app.get('/health/ready', async (req, res) => send(res, await lameduck.readiness(req)));
   */
  readiness(req?: AnyRequest): Promise<PlainResponse>;
  /** The liveness answer: 200 until the process exits, unless it is broken (`markBroken()`, failed startup work, `maxEventLoopDelay`). */
  liveness(req?: AnyRequest): PlainResponse;
  /** The startup answer: 200 once startup has finished (see `awaitStartup`, `addStartupTask()`), 503 before. */
  startup(req?: AnyRequest): PlainResponse;
  /**
   * Registers startup work: readiness and the startup route answer 503 ("starting") until every piece
   * has finished. If one throws, startup has failed: liveness answers 503 so the orchestrator restarts
   * the process. Register before the server listens; after startup has finished it throws
   * `LAMEDUCK_ALREADY_STARTED`. Returns the work's promise.
   * @example lameduck.addStartupTask(() => cache.warm());
   */
  addStartupTask<T>(task: Task<T>): Promise<Awaited<T>>;
  /** With `awaitStartup: true`: startup has finished; readiness may pass from now on. */
  markStarted(): void;
  /**
   * Liveness answers 503 (so the orchestrator restarts the process) until `markHealthy()`.
   * @example pool.on('fatal', (error) => lameduck.markBroken(`database pool: ${error.message}`));
   */
  markBroken(reason: string): void;
  /** Liveness passes again (undoes `markBroken()`). */
  markHealthy(): void;
  /** The 503 for a request that arrived after the listener closed; counts and logs it. */
  reject(): PlainResponse;
  /**
   * Tells lameduck of a readiness check that did not come through the readiness route (a gRPC health
   * `Check`, say), so that `readinessDelay: "auto"` waits for its checker too. Once shutdown has started
   * it counts as failed: answer it as not ready. `@lameduck/grpc` calls it for you.
   * @example lameduck.probed({ address: '10.0.0.7', userAgent: 'Envoy/HC' });
   */
  probed(from: ProbeOrigin): void;
  /**
   * What lameduck answers to this request, if anything: the probe routes (GET and HEAD), and in the
   * drain's last `abortBefore` (once `deadlineSignal` has aborted; HTTP/2 from the listener's close) a
   * 503 for everything else (after discarding up to `discardLimit` bytes of body). Before that a request
   * on a connection still open is the application's, its response closing the connection.
   * `undefined`, synchronously, means "not ours: pass it on". Also tracks the request, like
   * `trackRequest()`. The adapters are built on it.
   * @example const answer = lameduck.intercept(req, res); if (answer === undefined) return next();
   */
  intercept(req: AnyRequest, res: AnyResponse): Promise<PlainResponse> | undefined;
  /**
   * For plain `node:http` servers: `intercept()`, with the answer written. Returns true when it answered.
   * @example http.createServer((req, res) => { if (lameduck.handle(req, res)) return; app(req, res); })
   */
  handle(req: AnyRequest, res: AnyResponse): boolean;
  /**
   * For servers built on the Fetch API (`Bun.serve`, `Deno.serve`): what lameduck answers to this
   * request (the probes; the 503 in the drain's last stretch), or `undefined`: pass it on, then call
   * `fetchFinished()` with the same request once its response is ready. `info`: what the runtime
   * passed the handler beside the request (Bun's server, Deno's info), for the client's address.
   */
  interceptFetch(request: Request, info?: FetchInfo): Promise<PlainResponse> | undefined;
  /**
   * The response to a request `interceptFetch()` passed on is ready: true when it should close its
   * connection (`Connection: close`: shutdown has started).
   */
  fetchFinished(request: Request): boolean;
  /**
   * Wraps a Fetch-API handler: probes and the 503 answered by lameduck, `Connection: close` while
   * shutting down, every request counted.
   * @example lameduck.attach(Bun.serve({ fetch: lameduck.fetch((request) => new Response('hello')) }));
   */
  fetch<Rest extends unknown[], Result extends Response | undefined | void>(
    handler: (request: Request, ...rest: Rest) => Result | Promise<Result>,
  ): (request: Request, ...rest: Rest) => Promise<Result | Response>;
  /**
   * Registers a cleanup hook: run after the drain, phase by phase (`work`, `resources`, `telemetry`; see
   * `HookOptions.phase`), within a phase last registered first. Returns a remover.
   * @example lameduck.addHook(() => sdk.shutdown(), { name: 'opentelemetry', phase: 'telemetry' });
   */
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
  /** Counts for dashboards and tests; `prometheusMetrics()` renders them. */
  stats(): LameduckStats;
}

/** The probe query of a request the application routed itself: on the probe's path (or its own), `?verbose` and `?exclude=`. */
function queryOf(req: AnyRequest | undefined, path: string | false): ProbeQuery | undefined {
  if (req?.url === undefined) return undefined;
  const own = req.url.split('?', 1)[0]!;
  return probeQuery(req.url, path, true) ?? probeQuery(req.url, own, false);
}

/** The server `attach()` was given, if it can be one. */
function checkServer(server: AttachableServer): AttachableServer {
  if (server === null || typeof server !== 'object' || typeof server.on !== 'function') {
    throw createError(
      TypeError,
      'LAMEDUCK_INVALID_ARGUMENT',
      'lameduck: attach() takes an http.Server or https.Server (what app.listen() returns), the server Bun.serve() or Deno.serve() returns, or a Drainable',
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
  const events = createEvents(() => lameduck);
  const availability = createAvailability(options, events);
  const checks = createChecks(options.checks, options.checkTimeout, options.exposeErrors);
  const times = followPhases(phase, now, events, options.timeout);
  // Only with maxEventLoopDelay; its monitor and unref'd timer keep no event loop alive.
  availability.start();
  // intercept() is declared below; it runs only once requests arrive, with everything it reads defined.
  const servingPath = createServingPath([options.readinessPath, options.livenessPath, options.startupPath], intercept);
  phase.onChange((state) => {
    servingPath.serving(state === 'serving');
    if (state === 'lameduck') checks.stop();
    if (state === 'closed') availability.stop();
  });
  const platform = detectPlatform();
  const probers = createProbers(now);
  // What the probes and the 503 read: the options, and where the manager is now.
  const view = withGetters(
    {
      options,
      log,
      now,
      events,
      availability,
      checks,
      probed: (req: AnyRequest) => probers.record(req, phase.state !== 'serving'),
    },
    { state: () => phase.state, reason: () => phase.reason },
  );
  const rejections = createRejections(view);
  const nodeTracker = createTracker({
    idleGrace: options.idleGrace,
    discardLimit: options.discardLimit,
    refuseUpgrade: rejections.reject,
    now,
    onPrivatePath: (owner) => servingPath.exact(owner),
    onPublicPath: (missing) =>
      log.info(
        { missing },
        "this runtime lacks some of Node's private HTTP state: requests are followed through public events",
      ),
  });
  // The shutdown drives node:http servers and every other drain target (gRPC, Bun.serve) as one.
  const { targets, combined: tracker } = createTargets(nodeTracker);
  const accepting = (): boolean => phase.state === 'serving' || phase.state === 'lameduck';
  const fetchRequests = createFetchRequests(
    withGetters(
      {
        probes: view,
        now,
        accepting,
        keepServing: options.keepServing,
        nearDeadline: signals.nearDeadline,
        reject: rejections.reject,
      },
      { state: () => phase.state },
    ),
  );
  const fetchServers = createFetchServers(fetchRequests);
  const tasks = createTasks({ phase, signal: signals.closing });
  const hooks = createHooks(options.hookTimeout);
  // Before the shutdown's own listeners: the deadline is set the moment the state leaves 'serving'.
  const watchdog = createWatchdog({ ...options, format: lineFormat(options) }, log);
  phase.onChange(watchdog.phase);
  const parts = { options, log, now, phase, signals, tracker, tasks, hooks, rejections, events, probers, platform };
  const shutdown = createShutdown({ ...parts, watchdog });
  const begin = (why: string, delayMs: number | 'auto'): Promise<ShutdownResult> => {
    const first = phase.state === 'serving';
    const result = shutdown.begin(why, delayMs);
    if (first) void result.then(events.shutdownEnd);
    return result;
  };
  const keepServing = options.keepServing;

  /** `intercept()` in full; the serving path's fast check answers most requests without it. */
  function intercept(req: AnyRequest, res: AnyResponse): Promise<PlainResponse> | undefined {
    lameduck.trackRequest(req, res);
    // While serving, what comes here (a socket not known yet, the public path) is seldom a probe either.
    if (servingPath.passes(req.url)) return undefined;
    const probe = answerProbe(req, view);
    if (probe !== undefined || accepting()) return probe;
    // Paths kept serving to the end (a /metrics scrape): one check while serving, none.
    if (keepServing.length > 0 && keepServing.some((path) => matchesPath(req.url, path))) return undefined;
    // A request on a connection opened before the listener closed is served while it has time to
    // finish; the tracker makes its response the connection's last, so each connection brings at
    // most one more. HTTP/2 is refused: GOAWAY already told the client which streams are served.
    if (phase.state === 'draining' && !signals.nearDeadline.aborted && !isHttp2(req)) return undefined;
    return rejectRequest(req, res, rejections.reject, options);
  }

  const members: Omit<Lameduck, 'state' | 'accepting'> = {
    signal: signals.closing,
    drainSignal: signals.draining,
    deadlineSignal: signals.nearDeadline,
    options,

    attach(server) {
      if (isDrainable(server)) {
        targets.add(server, lameduck, phase.state);
      } else if (isFetchServer(server)) {
        fetchServers.add(server);
        targets.add(fetchServers, lameduck, phase.state);
      } else {
        tracker.attach(checkServer(server));
      }
      watchdog.attached();
      return lameduck;
    },
    detach(server) {
      if (isDrainable(server)) targets.remove(server);
      else if (isFetchServer(server)) fetchServers.remove(server);
      else tracker.detach(server);
      return lameduck;
    },
    trackRequest(req, res) {
      // Once closed, the tracker is disposed: a stray request must not attach its server again.
      if (phase.state === 'closed' || isHttp2(req) || tracker.knows(req as IncomingMessage)) return;
      tracker.track(req as IncomingMessage, res as ServerResponse);
    },

    readiness: (req) => {
      if (req !== undefined) view.probed(req);
      return readiness(view, queryOf(req, options.readinessPath));
    },
    liveness: (req) => liveness(view, queryOf(req, options.livenessPath)),
    startup: (req) => startup(view, queryOf(req, options.startupPath)),
    addStartupTask: (task) => availability.addStartupTask(task, signals.closing),
    markStarted: () => availability.markStarted(),
    markBroken: (reason) => availability.markBroken(reason),
    markHealthy: () => availability.markHealthy(),
    reject: () => rejections.reject(),
    probed: (from) => probers.recordFrom(checkProbeOrigin(from), phase.state !== 'serving'),
    intercept: servingPath.intercept,
    handle(req, res) {
      const answer = servingPath.intercept(req, res);
      if (answer === undefined) return false;
      void answer.then((response) => sendPlain(res as ServerResponse, response, req.method === 'HEAD'));
      return true;
    },

    interceptFetch: (request, info) => fetchRequests.intercept(request, info),
    fetchFinished: (request) => fetchRequests.finished(request),
    fetch: (handler) => wrapFetch(lameduck, handler),

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
      return begin(why ?? 'shutdown() called', delayMs);
    },
    drained: () => shutdown.drained,
    handleSignals: createSignalHandling(
      {
        begin: (why, skipDelay) => begin(why, skipDelay ? 0 : options.readinessDelay),
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
      watchdog.owns,
    ),
    stats: () => {
      // The fetch servers are one target between them.
      const others = targets.size() - (targets.has(fetchServers) ? 1 : 0) + fetchServers.size;
      return statsOf({ phase, tracker, servers: others, tasks, availability, rejections, events, times });
    },
  };
  // Adapters read intercept() from it on every request.
  const lameduck: Lameduck = withGetters(members, { state: () => phase.state, accepting });
  return lameduck;
}

/** `stats()`: counts read from the parts that keep them. */
function statsOf(parts: {
  phase: Phase;
  tracker: Tracker;
  /** Servers attached besides the node:http ones. */
  servers: number;
  tasks: Tasks;
  availability: Availability;
  rejections: Rejections;
  events: Events;
  times: { durations(): LameduckStats['durations'] };
}): LameduckStats {
  const { phase, tracker, servers, tasks, availability, rejections, events, times } = parts;
  return {
    state: phase.state,
    servers: tracker.servers().length + servers,
    connections: tracker.connectionCount(),
    inflight: tracker.inflightCount(),
    upgraded: tracker.upgradedCount(),
    tasks: tasks.size(),
    startup: availability.startup,
    broken: availability.broken(),
    requests: { completed: tracker.completedWhileClosing(), rejected: rejections.count(), forced: events.forcedCount },
    durations: times.durations(),
  };
}

/**
 * Publishes every state change (and the start of the shutdown before its first one), and keeps when
 * each phase started, for `stats().durations`.
 */
function followPhases(
  phase: Phase,
  now: Clock,
  events: Events,
  timeout: number,
): { durations(): LameduckStats['durations'] } {
  const entered: Partial<Record<LameduckState, number>> = {};
  phase.onChange((state, previous) => {
    entered[state] = now();
    if (previous === 'serving') events.shutdownStart(phase.reason, timeout);
    events.state(state, previous);
  });
  const span = (from: LameduckState, to: LameduckState): number => {
    const start = entered[from];
    if (start === undefined) return 0;
    return Math.round((entered[to] ?? now()) - start);
  };
  return {
    durations: () => ({
      lameDuck: span('lameduck', 'draining'),
      drain: span('draining', 'cleanup'),
      cleanup: span('cleanup', 'closed'),
      total: span('lameduck', 'closed'),
    }),
  };
}
