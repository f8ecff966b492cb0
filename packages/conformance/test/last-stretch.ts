/** The last stretch of a drain (its final `abortBefore`, when a late request gets the 503), reached at once. */
import type { Lameduck } from '@lameduck/core';
import { aborted } from '@lameduck/test-utils';

/**
 * A drain whose last stretch starts 1 ms after the listener closes (abortBefore one less than the
 * 65 s drain window), with kept-alive sockets left open for the test to use.
 */
export const LAST_STRETCH = { readinessDelay: 0, idleGrace: 60_000, timeout: 70_000, abortBefore: 64_999 } as const;

/** Resolves once `deadlineSignal` has aborted: from then on a late request gets the 503. */
export function lastStretch(lameduck: Lameduck): Promise<void> {
  return aborted(lameduck.deadlineSignal);
}
