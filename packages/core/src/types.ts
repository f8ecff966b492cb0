/** The types every part of lameduck shares; it imports nothing at runtime, so nothing imports in a cycle. */
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Http2SecureServer, Http2Server, Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import type { Server as HttpsServer } from 'node:https';

/**
 * Where a manager is in its life: `serving`; `lameduck` (readiness fails, requests still served with
 * `Connection: close`); `draining` (listeners closed, in-flight work finishing, late requests get
 * 503); `cleanup` (hooks running); `closed`.
 */
export type LameduckState = 'serving' | 'lameduck' | 'draining' | 'cleanup' | 'closed';

/** Background work: a promise, or a function started at once that receives `lameduck.signal`. */
export type Task<T> = PromiseLike<T> | ((signal: AbortSignal) => T | PromiseLike<T>);

/**
 * A server lameduck can drain: `http.Server`, `https.Server` (Express, Koa and Fastify use these), or
 * an HTTP/2 server from `http2.createServer()` / `http2.createSecureServer()`.
 */
export type AttachableServer = HttpServer | HttpsServer | Http2Server | Http2SecureServer;

/** What a drain target sees of its manager (the manager itself, `Lameduck`, is passed). */
export interface TargetManager {
  /** Where the manager is: `serving`, `lameduck`, `draining`, `cleanup`, `closed`. */
  readonly state: LameduckState;
  /** Aborts when the drain starts. */
  readonly drainSignal: AbortSignal;
  /** Aborts `abortBefore` ms before the deadline: from then on new requests are refused. */
  readonly deadlineSignal: AbortSignal;
  /** Counts and logs a refused request; returns the 503 an HTTP server would send (a target translates it). */
  reject(): PlainResponse;
  /**
   * A readiness check that came another way than the readiness route (a gRPC health `Check`):
   * lameduck learns who checks and how often, for `readinessDelay: "auto"`, as from the route. Once
   * shutdown has started it counts as a failed check: the target must then answer it as not ready.
   */
  probed(from: ProbeOrigin): void;
}

/** Who sent a readiness check: its address (without the port), and its User-Agent when it sent one. */
export interface ProbeOrigin {
  /** The checker's address (`10.0.0.7`), without the port: a checker may open a connection per check. */
  address: string | undefined;
  /** Its User-Agent (HTTP) or `user-agent` metadata (gRPC); the kubelet's is `kube-probe/…`. */
  userAgent: string | undefined;
}

/**
 * A server that is not a node:http one, driven through the manager's phases: readiness fails
 * (`lameDuck`), the listener closes and what is in flight finishes (`drain`), the deadline cancels
 * the rest (`force`). It counts what it served; it rejects through `manager.reject()`, which counts
 * and logs every rejection in one place.
 */
export interface DrainTarget {
  /** The shutdown has started: readiness fails. Serve on; ask clients to move away where the protocol can. */
  lameDuck?(): void;
  /** The drain starts: stop accepting; resolve once everything in flight has ended. Called once. */
  drain(): Promise<void>;
  /** The drain deadline: cancel what is left; return what was still in flight and how many connections closed. */
  force(): {
    /** What was still in flight, described as requests are. */
    stuck: InflightRequest[];
    /** Connections (or streams) closed by force. */
    destroyed: number;
  };
  /** Requests (calls, streams) in flight now. */
  inflightCount(): number;
  /** Requests in flight now, described (the progress log, a second signal). */
  inflight?(): InflightRequest[];
  /** Open connections. */
  connectionCount?(): number;
  /** Since the shutdown started: requests completed, and requests read whose answer was never sent. */
  counts(): {
    /** Requests completed since the shutdown started. */
    completed: number;
    /** Requests read whose answer was never sent. */
    lost: number;
  };
  /** The shutdown is over (or the target detached): let go of listeners and timers. */
  dispose?(): void;
}

/** A request lameduck can look at: HTTP/1 (`node:http`, every framework) or HTTP/2's compatibility API. */
export type AnyRequest = IncomingMessage | Http2ServerRequest;
/** The response that goes with an `AnyRequest`. */
export type AnyResponse = ServerResponse | Http2ServerResponse;

/** A request that was still in flight when it was looked at (at the deadline, say). */
export interface InflightRequest {
  /** The request's method: `GET`, `POST`… */
  method: string;
  /** The request's URL as the client sent it: path and query. */
  url: string;
  /**
   * Milliseconds since the request's headers arrived. For a request that arrived before the shutdown
   * started (lameduck keeps nothing per request while serving), the milliseconds since the shutdown
   * started: a lower bound, flagged by `olderThanShutdown`.
   */
  age: number;
  /** Present (true) when the request arrived before the shutdown started and `age` counts from the shutdown. */
  olderThanShutdown?: true;
}

/** A response lameduck wants sent: the adapters write it in their framework's own idiom. */
export interface PlainResponse {
  /** The HTTP status code: `200`, or `503`. */
  status: number;
  /** Lower-case header names. */
  headers: Record<string, string>;
  /** A string is sent as is; an object as JSON. */
  body: string | Record<string, unknown>;
}

/** Throws or returns `false` when a dependency is not ready; receives a signal that aborts at `checkTimeout`. */
export type ReadinessCheck = (signal: AbortSignal) => unknown;

/** A readiness check run in the background every `interval` ms; probes answer its last result. */
export interface IntervalCheck {
  /** The check, run in the background; its signal aborts at `checkTimeout`. */
  check: ReadinessCheck;
  /** Milliseconds between runs. */
  interval: number;
}

/** A readiness check as given in `checks`: run on every probe, or on an interval. */
export type CheckSpec = ReadinessCheck | IntervalCheck;

/** Where startup is: `starting` (startup work or `awaitStartup` pending), `started`, or `failed` (startup work threw). */
export type StartupStatus = 'starting' | 'started' | 'failed';

/** The result of one readiness check: `ok`, `failed` (threw or returned false) or `timeout`. */
export type CheckOutcome =
  | {
      /** The check passed. */
      status: 'ok';
    }
  | {
      /** The check threw or returned `false` (`failed`), or ran past `checkTimeout` (`timeout`). */
      status: 'failed' | 'timeout';
      /** The error's message. */
      error?: string;
    };

/** A cleanup hook; its signal aborts when the hook's time is up. */
export type CleanupHook = (signal: AbortSignal) => unknown;

/**
 * When a cleanup hook runs: hooks run phase by phase in this order, and within a phase last registered
 * first. `work`: what still uses resources (job workers, schedulers, a framework's own close);
 * `resources`: pools, clients, caches; `telemetry`: tracing, metrics and log shipping, last, so they
 * record everything before them.
 */
export type HookPhase = 'work' | 'resources' | 'telemetry';

/** Options of `lameduck.addHook()`. */
export interface HookOptions {
  /** Name used in logs and in the result; defaults to the function's name or `hook #N`. */
  name?: string;
  /** How long this hook may run, in milliseconds; defaults to the manager's `hookTimeout`. */
  timeout?: number;
  /**
   * The phase it runs in: `work`, then `resources`, then `telemetry`; within a phase, last registered first.
   * @default 'resources'
   * @example lameduck.addHook(() => sdk.shutdown(), { name: 'opentelemetry', phase: 'telemetry' })
   */
  phase?: HookPhase;
}

/** A hook that threw, rejected, ran out of time or got no time at all. */
export interface HookFailure {
  /** The hook's name (`addHook(fn, { name })`, the function's name, or `hook #N`). */
  name: string;
  /** What it threw or rejected with, or an error saying it ran out of time. */
  error: Error;
  /** The hook did not finish in its time (or was never started because the deadline had passed). */
  timedOut: boolean;
}

/** What a shutdown did. */
export interface ShutdownResult {
  /** What started it: a signal name, `uncaughtException`, or the reason passed to `shutdown()`. */
  reason: string;
  /** Drained in time, no response was lost (`requests.lost` is 0) and every hook succeeded. */
  graceful: boolean;
  /** The drain deadline was reached and what was left was destroyed. */
  forced: boolean;
  /** 0 when graceful, 1 otherwise: what `handleSignals()` exits with by default. */
  exitCode: 0 | 1;
  /**
   * Requests (and HTTP/2 streams) still in flight when the deadline forced them (method, url, age in
   * ms; `olderThanShutdown` with the age since the shutdown started for those that arrived before it).
   */
  stuckRequests: InflightRequest[];
  /** Upgraded connections (WebSockets) still open at the deadline: the upgrade request, and age since it. */
  stuckUpgrades: InflightRequest[];
  /** Sockets destroyed at the deadline. */
  destroyedConnections: number;
  /** Background tasks still running at the deadline. */
  abandonedTasks: number;
  /** Cleanup hooks that threw, rejected, ran out of time or were never started. */
  hookFailures: HookFailure[];
  /**
   * Requests completed after shutdown started; requests answered 503 because the listener had closed;
   * and requests the server read whose response was never written because their connection closed
   * first (a pipelined request behind one that closed the connection, say): any makes the result not
   * graceful. Pipelined requests queued before the shutdown are counted once their turn comes.
   */
  requests: {
    /** Responses finished after the shutdown started. */
    completed: number;
    /** Requests answered `503` because the listener had closed. */
    rejected: number;
    /** Requests read whose response was never written because their connection closed first. */
    lost: number;
  };
  /** Milliseconds spent in each phase, and in all. */
  durations: {
    /** The lame-duck phase: readiness failing, requests still served (0 when skipped). */
    lameDuck: number;
    /** From the listener closing until nothing was left in flight, or the deadline. */
    drain: number;
    /** The cleanup hooks. */
    cleanup: number;
    /** From the start of the shutdown to its result. */
    total: number;
  };
}

/** A point-in-time view of a manager. */
export interface LameduckStats {
  /** Where the manager is: `serving`, `lameduck`, `draining`, `cleanup` or `closed`. */
  state: LameduckState;
  /** Servers attached. */
  servers: number;
  /** Open connections (sockets) across the attached servers. */
  connections: number;
  /** Requests in flight (counted from the shutdown's start; 0 while serving, when nothing is kept per request). */
  inflight: number;
  /** Connections handed over by an `upgrade` (WebSockets) and still open. */
  upgraded: number;
  /** Background tasks (`addTask()`) still running. */
  tasks: number;
  /** Where startup is (see `awaitStartup` and `addStartupTask()`). */
  startup: StartupStatus;
  /** Why liveness fails (`markBroken()`, failed startup work, a blocked event loop); `undefined` while alive. */
  broken: string | undefined;
  /** Requests since shutdown started: completed, answered 503, and destroyed at the deadline (upgrades included). */
  requests: {
    /** Responses finished since the shutdown started. */
    completed: number;
    /** Requests answered `503` because the listener had closed. */
    rejected: number;
    /** Requests and upgraded connections destroyed at the deadline. */
    forced: number;
  };
  /** Milliseconds spent in each phase of the shutdown so far (0 before it starts). */
  durations: {
    /** The lame-duck phase. */
    lameDuck: number;
    /** The drain. */
    drain: number;
    /** The cleanup hooks. */
    cleanup: number;
    /** The shutdown so far, in all. */
    total: number;
  };
}

/** A pino-compatible logger: each method takes an object of fields first, then a message. */
export interface Logger {
  /** The shutdown's progress: its start, the listener closing, the drain, the result when graceful. */
  info(fields: object, message?: string): void;
  /** What went wrong without failing: a rejected request, a forced one, a platform that does not fit. */
  warn(fields: object, message?: string): void;
  /** A hook that failed, a second signal, an uncaught error. */
  error(fields: object, message?: string): void;
}

/** Returned by `handleSignals()`. */
export interface SignalHandle {
  /** Removes every listener the helper added; the process is the application's again. */
  uninstall(): void;
}
