/** Where one manager is in its life: its state, why it is shutting down, and the listeners told of each change. */
import type { Log } from './logger.js';
import type { LameduckState } from './types.js';

type StateListener = (state: LameduckState, previous: LameduckState) => void;

/** The small piece of state every part of a manager reads. */
export interface Phase {
  readonly state: LameduckState;
  /** What started the shutdown; empty while serving. */
  reason: string;
  /** Moves to `next` and tells every listener; a listener that throws is logged and ignored. */
  set(next: LameduckState): void;
  onChange(listener: StateListener): () => void;
}

export function createPhase(log: Log): Phase {
  const listeners = new Set<StateListener>();
  let state: LameduckState = 'serving';
  return {
    get state() {
      return state;
    },
    reason: '',
    set(next) {
      const previous = state;
      state = next;
      for (const listener of listeners) {
        try {
          listener(next, previous);
        } catch (error) {
          log.error({ err: error }, 'a state listener threw; ignored');
        }
      }
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
