/** Who polls readiness and how often, and how long the lame-duck phase must last for all of them to see it. */
import { invalidOption } from './errors.js';
import type { AnyRequest, ProbeOrigin } from './types.js';

/** What lameduck knows of one prober (a source address, plus its User-Agent when it sends one). */
export interface Prober {
  /** `address` or `address user-agent`. */
  id: string;
  /** Probes seen. */
  probes: number;
  /** When it last probed (ms on the manager's clock). */
  last: number;
  /** Its interval: the median of its last intervals; `undefined` after a single probe. */
  interval: number | undefined;
  /** Readiness failures (503) it was answered since shutdown started. */
  failures: number;
}

/** The probers lameduck remembers, fed by every readiness probe. */
export interface ProberBook {
  /** Records a probe from `id` at `at`; `failed`: it was answered 503 because shutdown had started. */
  record(id: string, at: number, failed: boolean): void;
  /** The prober `id`, if known. */
  get(id: string): Prober | undefined;
  /** The probers active at `at`: each probed within two of its intervals and a second (see `patience`). */
  active(at: number): Prober[];
  /**
   * When prober `id` stops holding a lame-duck phase that needs `failures` 503s: one interval after
   * its last 503 once it has had them, else two intervals and a second after its last probe (gone).
   * `undefined` when unknown (forgotten).
   */
  release(id: string, failures: number): number | undefined;
}

/**
 * The interval assumed for a prober seen only once: Kubernetes' default `periodSeconds`, the slowest
 * common default (HAProxy checks every 2 s, nginx Plus every 5 s, cloud balancers every 5-30 s).
 */
export const ASSUMED_INTERVAL = 10_000;
/**
 * Probes closer together than this are a burst (two balancers behind one address, a retry), not a
 * rhythm: their gap is not an interval, or a near-zero median would release the phase at once.
 */
const MIN_INTERVAL = 50;
/** Lateness tolerated on top of two intervals before a prober counts as gone. */
const JITTER = 1_000;
/** Intervals kept per prober; the median of them is its interval. */
const KEPT_INTERVALS = 8;
/** 503s remembered per prober: `readinessFailures` is at most 100. */
const MAX_FAILURES = 100;
/** Probers remembered: the readiness route can be public, so a flood of sources must not grow memory. */
const MAX_PROBERS = 64;

interface Entry {
  id: string;
  probes: number;
  last: number;
  intervals: number[];
  /** When each 503 since shutdown started was answered, up to `MAX_FAILURES` of them. */
  failedAt: number[];
}

function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

function intervalOf(entry: Entry): number | undefined {
  return median(entry.intervals);
}

/**
 * How long after its last probe a prober still counts as active (and, while waiting, as not gone):
 * two of its intervals and `JITTER`, so that a probe delayed by the network, a garbage collection or
 * a busy event loop (this process's or the prober's) is not taken for a prober that left.
 */
function patience(entry: Entry): number {
  const interval = intervalOf(entry);
  return interval === undefined ? ASSUMED_INTERVAL : 2 * interval + JITTER;
}

function view(entry: Entry): Prober {
  const { id, probes, last } = entry;
  return { id, probes, last, failures: entry.failedAt.length, interval: intervalOf(entry) };
}

/** Creates an empty book. Pure: every time comes from the caller. */
export function createProberBook(): ProberBook {
  const entries = new Map<string, Entry>();
  return {
    record(id: string, at: number, failed: boolean): void {
      let entry = entries.get(id);
      if (entry === undefined) {
        if (entries.size >= MAX_PROBERS) evictOldest(entries);
        entry = { id, probes: 0, last: at, intervals: [], failedAt: [] };
        entries.set(id, entry);
      } else if (at - entry.last >= MIN_INTERVAL) {
        entry.intervals.push(at - entry.last);
        if (entry.intervals.length > KEPT_INTERVALS) entry.intervals.shift();
      }
      entry.probes++;
      entry.last = at;
      if (failed && entry.failedAt.length < MAX_FAILURES) entry.failedAt.push(at);
    },
    get(id: string): Prober | undefined {
      const entry = entries.get(id);
      return entry === undefined ? undefined : view(entry);
    },
    active(at: number): Prober[] {
      return [...entries.values()].filter((entry) => at - entry.last <= patience(entry)).map(view);
    },
    release(id: string, failures: number): number | undefined {
      const entry = entries.get(id);
      if (entry === undefined) return undefined;
      // From the `failures`-th 503, not the latest: a prober keeps probing after it has acted (HAProxy
      // checks a down server too), and each later 503 must not push the end of the phase further.
      const enough = entry.failedAt[failures - 1];
      if (enough !== undefined) return enough + (intervalOf(entry) ?? 0);
      return entry.last + patience(entry);
    },
  };
}

function evictOldest(entries: Map<string, Entry>): void {
  let oldest: Entry | undefined;
  for (const entry of entries.values()) if (oldest === undefined || entry.last < oldest.last) oldest = entry;
  if (oldest !== undefined) entries.delete(oldest.id);
}

/**
 * The kubelet's probes (`User-Agent: kube-probe/…`) route no traffic to a terminating pod: Kubernetes
 * marks its endpoints not ready when deletion starts, whatever they answer. Waiting for three of them
 * (30 s at the default `periodSeconds: 10`) would only slow every rollout; the platform minimum covers
 * the proxies' lag instead.
 */
function isKubelet(id: string): boolean {
  return id.includes(' kube-probe/');
}

/**
 * The drain window an `"auto"` lame-duck phase always leaves: a quarter of `timeout - cleanupReserve`,
 * at most 5 s, so requests in flight and those that arrived during the phase get time to finish.
 */
export function minimumDrain(timeout: number, cleanupReserve: number): number {
  return Math.min(5_000, Math.floor((timeout - cleanupReserve) / 4));
}

/** The longest an `"auto"` lame-duck phase may last: `timeout - cleanupReserve - minimumDrain`. */
export function lameDuckCap(timeout: number, cleanupReserve: number): number {
  return Math.max(0, timeout - cleanupReserve - minimumDrain(timeout, cleanupReserve));
}

/** Why the lame-duck phase lasts what it does; the start line logs it. */
export type LameDuckMode = 'fixed' | 'no probers' | 'probers' | 'platform minimum';

/** What decides the lame-duck phase of one shutdown. */
export interface LameDuckPlanOptions {
  /** When shutdown started. */
  start: number;
  /** `readinessDelay`: a fixed number of ms, or `'auto'`. */
  delay: number | 'auto';
  /** `readinessFailures`: 503s every active prober must have been answered. */
  failures: number;
  /** The platform's minimum (ms), with `'auto'`. */
  minimum: number;
  /** The longest the phase may last (ms): `timeout - cleanupReserve` less a minimum drain window. */
  cap: number;
}

/** The phase's plan, and the question the shutdown sequence asks it as time passes and probes arrive. */
export interface LameDuckPlan {
  mode: LameDuckMode;
  /** The probers the phase waits for (active just before the signal), as they were then. */
  probers: Prober[];
  /** The shortest the phase lasts (ms): the fixed delay, or the platform minimum. */
  minimum: number;
  cap: number;
  /** At `at`: is the phase over, and if not, when could it be without another probe? */
  check(at: number): { done: true } | { done: false; next: number };
}

/**
 * Plans the lame-duck phase. With a number, it lasts exactly that long. With `'auto'`, it lasts
 * until every prober active at `start` has been answered `failures` 503s plus one of its intervals
 * (time to act on the last one), or has stopped probing for two intervals and a second; at least `minimum`, at
 * most `cap`. No active prober and no minimum: it is skipped.
 */
export function planLameDuck(book: ProberBook, options: LameDuckPlanOptions): LameDuckPlan {
  const { start, cap } = options;
  if (options.delay !== 'auto') {
    const end = start + options.delay;
    return {
      mode: 'fixed',
      probers: [],
      minimum: options.delay,
      cap: options.delay,
      check: (at) => (at >= end ? { done: true } : { done: false, next: end }),
    };
  }
  const minimum = Math.min(options.minimum, cap);
  const probers = book.active(start).filter((prober) => !isKubelet(prober.id));
  const mode: LameDuckMode = probers.length > 0 ? 'probers' : minimum > 0 ? 'platform minimum' : 'no probers';
  return {
    mode,
    probers,
    minimum,
    cap,
    check(at) {
      const end = start + cap;
      if (at >= end) return { done: true };
      let next = Infinity;
      if (at < start + minimum) next = start + minimum;
      for (const prober of probers) {
        // Forgotten (a flood of other sources pushed it out): it cannot hold the phase open.
        const release = book.release(prober.id, options.failures);
        if (release !== undefined && at < release) next = Math.min(next, release);
      }
      return next === Infinity ? { done: true } : { done: false, next: Math.min(next, end) };
    },
  };
}

/**
 * Resolves once `plan` says the lame-duck phase is over: checked now, at the time it names, and after
 * every probe (`onProbe` subscribes; it returns an unsubscriber). Its timer is unref'd.
 */
export function waitForPlan(
  plan: LameDuckPlan,
  now: () => number,
  onProbe: (listener: () => void) => () => void,
): Promise<void> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    let unsubscribe = (): void => {};
    const check = (): void => {
      clearTimeout(timer);
      const verdict = plan.check(now());
      if (verdict.done) {
        unsubscribe();
        resolve();
        return;
      }
      timer = setTimeout(check, Math.max(1, Math.ceil(verdict.next - now()))).unref();
    };
    unsubscribe = onProbe(check);
    check();
  });
}

/**
 * A prober's identity: its address, and its User-Agent when it sends one (kubelet: `kube-probe/1.30`).
 * Not the port: HAProxy and the kubelet open a new connection for every probe.
 */
export function proberId(address: string | undefined, userAgent: string | undefined): string {
  const source = address ?? 'unknown';
  return userAgent === undefined || userAgent === '' ? source : `${source} ${userAgent.slice(0, 100)}`;
}

/** `lameduck.probed()`'s argument, refused with the field it gets wrong. */
export function checkProbeOrigin(from: unknown): ProbeOrigin {
  if (typeof from !== 'object' || from === null) throw invalidOption('from', 'an object { address, userAgent }', from);
  for (const key of ['address', 'userAgent'] as const) {
    const value = (from as Partial<ProbeOrigin>)[key];
    if (value !== undefined && typeof value !== 'string') throw invalidOption(key, 'a string or undefined', value);
  }
  return from as ProbeOrigin;
}

/** A manager's probers: the book, fed by readiness requests, and a way to hear of each probe. */
export interface Probers {
  readonly book: ProberBook;
  /** Records a readiness request; `failed`: it is answered 503 because shutdown has started. */
  record(req: AnyRequest, failed: boolean): void;
  /** Records a readiness check that came another way (a gRPC health `Check`), as `record()` does. */
  recordFrom(from: ProbeOrigin, failed: boolean): void;
  /** Calls `listener` after every recorded probe; returns an unsubscriber. */
  onProbe(listener: () => void): () => void;
}

export function createProbers(now: () => number): Probers {
  const book = createProberBook();
  const listeners = new Set<() => void>();
  const recordFrom = ({ address, userAgent }: ProbeOrigin, failed: boolean): void => {
    book.record(proberId(address, userAgent), now(), failed);
    for (const listener of listeners) listener();
  };
  return {
    book,
    record: (req, failed) =>
      recordFrom({ address: req.socket?.remoteAddress, userAgent: req.headers['user-agent'] }, failed),
    recordFrom,
    onProbe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
