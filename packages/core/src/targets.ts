/** Drain targets: what a manager drains besides node:http servers (a gRPC server, `Bun.serve`), under the same phases. */
import { createError } from './errors.js';
import type { Tracker } from './tracker/index.js';
import type { DrainTarget, InflightRequest, LameduckState, TargetManager } from './types.js';

/** The key of the method that turns an object into a `DrainTarget` for a manager (see `Drainable`). */
export const DRAINABLE: unique symbol = Symbol.for('lameduck.drainable');

/**
 * Something `attach()` drains besides a node:http server: it makes a `DrainTarget` for the manager it
 * is attached to. Adapter packages return these (a gRPC server, say); the key is `DRAINABLE`
 * (`Symbol.for('lameduck.drainable')`).
 */
export interface Drainable {
  /** Makes this object's drain target for `manager` (called once, by `attach()`). */
  [DRAINABLE](manager: TargetManager): DrainTarget;
}

/** True when `value` carries a `[DRAINABLE]` method: `attach()` then drains it as a target. */
export function isDrainable(value: unknown): value is Drainable {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as Partial<Drainable>)[DRAINABLE] === 'function'
  );
}

/** The targets attached to one manager, keyed by what was attached. */
export interface Targets {
  /** Makes a target of `drainable` (once) with `manager`; `drainNow` when the drain has already started. */
  add(drainable: Drainable, manager: TargetManager, state: LameduckState): void;
  remove(drainable: Drainable): void;
  has(drainable: Drainable): boolean;
  size(): number;
}

/** Creates the target list and a tracker that drives the node:http tracker and every target together. */
export function createTargets(tracker: Tracker): { targets: Targets; combined: Tracker } {
  const attached = new Map<Drainable, DrainTarget>();
  const each = (): DrainTarget[] => [...attached.values()];
  const sum = (count: (target: DrainTarget) => number): number =>
    each().reduce((total, target) => total + count(target), 0);

  const targets: Targets = {
    add(drainable, manager, state) {
      if (attached.has(drainable)) return;
      const target = drainable[DRAINABLE](manager);
      if (target === null || typeof target !== 'object' || typeof target.drain !== 'function') {
        throw createError(
          TypeError,
          'LAMEDUCK_INVALID_ARGUMENT',
          'lameduck: attach(): the object\'s [Symbol.for("lameduck.drainable")]() returned no drain target',
        );
      }
      attached.set(drainable, target);
      // Attached after the shutdown started: it catches up with the phases it missed.
      if (state === 'lameduck' || state === 'draining') target.lameDuck?.();
      if (state === 'draining') void target.drain();
    },
    remove(drainable) {
      attached.get(drainable)?.dispose?.();
      attached.delete(drainable);
    },
    has: (drainable) => attached.has(drainable),
    size: () => attached.size,
  };

  const combined: Tracker = {
    ...tracker,
    inflightCount: () => tracker.inflightCount() + sum((target) => target.inflightCount()),
    connectionCount: () => tracker.connectionCount() + sum((target) => target.connectionCount?.() ?? 0),
    inflight: () => [...tracker.inflight(), ...each().flatMap((target) => target.inflight?.() ?? [])],
    completedWhileClosing: () => tracker.completedWhileClosing() + sum((target) => target.counts().completed),
    lost: () => tracker.lost() + sum((target) => target.counts().lost),
    markClosing(drainNext) {
      tracker.markClosing(drainNext);
      for (const target of each()) target.lameDuck?.();
    },
    async drain() {
      await Promise.all([tracker.drain(), ...each().map((target) => target.drain())]);
    },
    force() {
      const forced = tracker.force();
      const stuck: InflightRequest[] = [...forced.stuck];
      let destroyed = forced.destroyed;
      for (const target of each()) {
        const left = target.force();
        stuck.push(...left.stuck);
        destroyed += left.destroyed;
      }
      return { stuck, upgrades: forced.upgrades, destroyed };
    },
    dispose() {
      tracker.dispose();
      for (const target of each()) target.dispose?.();
    },
  };
  return { targets, combined };
}
