/** The shutdown sequence under one deadline: lame duck, drain (forced at its end), cleanup hooks, and its result. */
import type { Events } from './channels.js';
import { createDeadline, timedOut, type Clock, type Deadline, type PhaseSignals } from './deadline.js';
import { runHooks, type Hooks } from './hooks.js';
import type { Log } from './logger.js';
import type { ResolvedOptions } from './options.js';
import type { Phase } from './phase.js';
import { platformMinimum, type PlatformFacts } from './platform.js';
import { lameDuckCap, planLameDuck, waitForPlan, type LameDuckPlan, type Probers } from './probers.js';
import type { Rejections } from './responses.js';
import type { Tasks } from './tasks.js';
import type { Tracker } from './tracker/index.js';
import type { Watchdog } from './watchdog/index.js';
import type { HookFailure, InflightRequest, ShutdownResult } from './types.js';

const PROGRESS_INTERVAL = 1_000;
const MAX_LOGGED_STUCK = 50;

/** The parts of a manager the sequence drives. */
export interface ShutdownParts {
  readonly options: Readonly<ResolvedOptions>;
  readonly log: Log;
  readonly now: Clock;
  readonly phase: Phase;
  readonly signals: PhaseSignals;
  readonly tracker: Tracker;
  readonly tasks: Tasks;
  readonly hooks: Hooks;
  readonly rejections: Rejections;
  readonly events: Events;
  readonly probers: Probers;
  readonly platform: PlatformFacts;
  readonly watchdog: Watchdog;
}

/** What the drain left behind. */
interface DrainOutcome {
  forced: boolean;
  stuck: InflightRequest[];
  upgrades: InflightRequest[];
  destroyed: number;
  abandonedTasks: number;
}

/** When each phase started and the run ended. */
interface Times {
  started: number;
  drainStarted: number;
  cleanupStarted: number;
  finished: number;
}

/** Starts (once) and follows one manager's shutdown. */
export interface Shutdown {
  /** Starts the shutdown, or returns the one already started. */
  begin(reason: string, readinessDelay: number | 'auto'): Promise<ShutdownResult>;
  /** Resolves when the drain has ended, before cleanup hooks run. */
  readonly drained: Promise<void>;
}

export function createShutdown(parts: ShutdownParts): Shutdown {
  let result: Promise<ShutdownResult> | undefined;
  let drainEnded!: () => void;
  const drained = new Promise<void>((resolve) => {
    drainEnded = resolve;
  });
  return {
    drained,
    begin(reason, readinessDelay) {
      if (result === undefined) {
        parts.phase.reason = reason;
        // Assigned before run() starts: run() changes state synchronously, and a state listener that
        // calls shutdown() again must get this same promise, not start a second shutdown.
        let settle!: (value: Promise<ShutdownResult>) => void;
        result = new Promise<ShutdownResult>((resolve) => {
          settle = resolve;
        });
        settle(run(parts, readinessDelay, drainEnded));
      }
      return result;
    },
  };
}

async function run(
  parts: ShutdownParts,
  readinessDelay: number | 'auto',
  drainEnded: () => void,
): Promise<ShutdownResult> {
  const deadline = createDeadline(parts.now, parts.options);
  const plan = planPhase(parts, readinessDelay, deadline.started);
  // Nothing to wait for from the start: the drain follows in this same turn of the event loop.
  startLameDuck(parts, plan, readinessDelay, plan.check(deadline.started).done);
  // A phase with nothing to wait for is skipped: 0 in the result, not the time it took to log its start.
  const skipped = plan.check(parts.now()).done;
  if (!skipped) await waitForPlan(plan, parts.now, parts.probers.onProbe);
  const drainStarted = skipped ? deadline.started : parts.now();
  const outcome = await drain(parts, deadline);
  const cleanupStarted = parts.now();
  parts.phase.set('cleanup');
  drainEnded();
  const hookFailures = await cleanup(parts, deadline);
  const times = { started: deadline.started, drainStarted, cleanupStarted, finished: parts.now() };
  const result = buildResult(parts, outcome, hookFailures, times);
  parts.phase.set('closed');
  logResult(parts.log, result);
  return result;
}

/** How long the lame-duck phase lasts: fixed, or on the evidence of who probes (see `planLameDuck`). */
function planPhase({ options, probers, platform }: ShutdownParts, delay: number | 'auto', start: number): LameDuckPlan {
  const minimum = options.minReadinessDelay === 'auto' ? platformMinimum(platform) : options.minReadinessDelay;
  return planLameDuck(probers.book, {
    start,
    delay,
    failures: options.readinessFailures,
    minimum,
    cap: lameDuckCap(options.timeout, options.cleanupReserve),
  });
}

/** Readiness fails from now on; requests are still served, with `Connection: close`. */
function startLameDuck(
  { phase, signals, tracker, tasks, log, options, platform }: ShutdownParts,
  plan: LameDuckPlan,
  readinessDelay: number | 'auto',
  drainNext: boolean,
): void {
  phase.set('lameduck');
  signals.abortClosing(phase.reason);
  tracker.markClosing(drainNext);
  log.info(
    {
      reason: phase.reason,
      inflight: tracker.inflightCount(),
      connections: tracker.connectionCount(),
      tasks: tasks.size(),
      readinessDelay,
      // Why the phase lasts what it does: 'fixed', 'no probers', 'probers' or 'platform minimum'.
      lameDuckMode: plan.mode,
      probers: plan.probers.map((prober) => ({ id: prober.id, interval: prober.interval ?? null })),
      lameDuckMin: plan.minimum,
      lameDuckMax: plan.cap,
      ...(platform.kubernetes ? { platform: 'kubernetes' } : {}),
      timeout: options.timeout,
    },
    'shutdown started: readiness fails now',
  );
}

/** Closes the listeners and waits for requests, sockets and tasks until `deadline.drainEnd`; then forces. */
async function drain(parts: ShutdownParts, deadline: Deadline): Promise<DrainOutcome> {
  const { phase, signals, tracker, tasks, log, now } = parts;
  phase.set('draining');
  signals.abortDraining(phase.reason);
  tasks.startClosers(signals.nearDeadline, log);
  const cancelNearDeadline = signals.scheduleNearDeadline(deadline, now);
  const progress = setInterval(logProgress, PROGRESS_INTERVAL, parts, deadline.drainEnd).unref();
  const serversClosed = tracker.drain();
  log.info(
    { inflight: tracker.inflightCount(), connections: tracker.connectionCount(), tasks: tasks.size() },
    'listener closed: draining',
  );
  const forced = await timedOut(Promise.all([serversClosed, tasks.whenDone()]), deadline.drainEnd - now());
  const outcome: DrainOutcome = { forced, stuck: [], upgrades: [], destroyed: 0, abandonedTasks: 0 };
  if (forced) {
    outcome.abandonedTasks = tasks.size();
    Object.assign(outcome, force(parts, outcome.abandonedTasks));
    await timedOut(serversClosed, deadline.end - now());
  }
  cancelNearDeadline();
  clearInterval(progress);
  return outcome;
}

/** The drain deadline: destroys what is left and logs it. */
function force(
  { signals, tracker, log, events }: ShutdownParts,
  abandonedTasks: number,
): Omit<DrainOutcome, 'forced' | 'abandonedTasks'> {
  signals.passDeadline();
  const { stuck, upgrades, destroyed } = tracker.force();
  for (const request of stuck) events.forced(request, false);
  for (const upgrade of upgrades) events.forced(upgrade, true);
  for (const request of stuck.slice(0, MAX_LOGGED_STUCK)) log.warn(request, 'request forced at the deadline');
  for (const upgrade of upgrades.slice(0, MAX_LOGGED_STUCK)) {
    log.warn(upgrade, 'upgraded connection destroyed at the deadline');
  }
  log.warn(
    { requests: stuck.length, upgrades: upgrades.length, connections: destroyed, tasks: abandonedTasks },
    'drain deadline reached: destroyed what was left',
  );
  return { stuck, upgrades, destroyed };
}

/** Logs what is left and the seconds until it is forced; nothing when nothing is left. */
function logProgress({ tracker, tasks, log, now }: ShutdownParts, drainEnd: number): void {
  const inflight = tracker.inflightCount();
  const connections = tracker.connectionCount();
  if (inflight === 0 && connections === 0 && tasks.size() === 0) return;
  const secondsLeft = Math.max(0, Math.round((drainEnd - now()) / 1000));
  log.info({ inflight, connections, tasks: tasks.size(), secondsLeft }, 'draining');
}

/** Runs the cleanup hooks within what is left of the deadline, then lets go of the servers. */
async function cleanup(
  { hooks, tracker, log, now, events, watchdog }: ShutdownParts,
  deadline: Deadline,
): Promise<HookFailure[]> {
  const failures = await runHooks(hooks.list, deadline.end, now, {
    failed: (failure) => log.error({ hook: failure.name, err: failure.error }, 'cleanup hook failed'),
    started: watchdog.hook,
    finished: (name, failure, duration) => {
      watchdog.hook(undefined);
      events.hook(name, failure, duration);
    },
  });
  tracker.dispose();
  return failures;
}

function buildResult(
  { phase, tracker, rejections }: ShutdownParts,
  { forced, stuck, upgrades, destroyed, abandonedTasks }: DrainOutcome,
  hookFailures: HookFailure[],
  { started, drainStarted, cleanupStarted, finished }: Times,
): ShutdownResult {
  const lost = tracker.lost();
  const graceful = !forced && lost === 0 && hookFailures.length === 0;
  return {
    reason: phase.reason,
    graceful,
    forced,
    exitCode: graceful ? 0 : 1,
    stuckRequests: stuck,
    stuckUpgrades: upgrades,
    destroyedConnections: destroyed,
    abandonedTasks,
    hookFailures,
    requests: { completed: tracker.completedWhileClosing(), rejected: rejections.count(), lost },
    durations: {
      lameDuck: Math.round(drainStarted - started),
      drain: Math.round(cleanupStarted - drainStarted),
      cleanup: Math.round(finished - cleanupStarted),
      total: Math.round(finished - started),
    },
  };
}

function logResult(log: Log, result: ShutdownResult): void {
  const { stuckRequests, stuckUpgrades, hookFailures, ...summary } = result;
  (result.graceful ? log.info : log.warn)(
    {
      ...summary,
      stuckRequests: stuckRequests.length,
      stuckUpgrades: stuckUpgrades.length,
      hookFailures: hookFailures.map((failure) => failure.name),
    },
    'shutdown complete',
  );
}
