/** Lifecycle events published on Node's `diagnostics_channel`, for APM and OpenTelemetry instrumentations to subscribe to. */
import { channel } from 'node:diagnostics_channel';
import type { HookFailure, InflightRequest, LameduckState, ShutdownResult, StartupStatus } from './types.js';

/**
 * The channel names, one per event. Subscribe with `diagnostics_channel.subscribe(name, listener)`;
 * every message carries `lameduck`, the manager it is about. Nothing is built unless a channel has
 * subscribers.
 */
export const CHANNELS = Object.freeze({
  /** `{ lameduck, reason, timeout }`: shutdown started (before the state moves to `lameduck`). */
  shutdownStart: 'lameduck:shutdown:start',
  /** `{ lameduck, state, previous }`: every state change (`lameduck`, `draining`, `cleanup`, `closed`). */
  state: 'lameduck:state',
  /** `{ lameduck, method, url, rejected }`: a request answered 503 after the listener closed (`rejected`: the count so far; `method` and `url` are `undefined` for a refused upgrade). */
  requestRejected: 'lameduck:request:rejected',
  /** `{ lameduck, method, url, age, upgrade }`: a request (or upgraded connection) destroyed at the deadline. */
  requestForced: 'lameduck:request:forced',
  /** `{ lameduck, name, ok, timedOut, error, duration }`: a cleanup hook finished, failed, timed out or was skipped. */
  hook: 'lameduck:hook',
  /** `{ lameduck, result }`: the shutdown's result, once the state is `closed`. */
  shutdownEnd: 'lameduck:shutdown:end',
  /** `{ lameduck, startup, broken }`: startup finished or failed, or liveness broke or recovered. */
  availability: 'lameduck:availability',
});

const shutdownStart = channel(CHANNELS.shutdownStart);
const state = channel(CHANNELS.state);
const requestRejected = channel(CHANNELS.requestRejected);
const requestForced = channel(CHANNELS.requestForced);
const hook = channel(CHANNELS.hook);
const shutdownEnd = channel(CHANNELS.shutdownEnd);
const availability = channel(CHANNELS.availability);

/** What one manager publishes; each also keeps the counts `stats()` reads. */
export interface Events {
  shutdownStart(reason: string, timeout: number): void;
  state(next: LameduckState, previous: LameduckState): void;
  rejected(request: { method?: string; url?: string } | undefined, count: number): void;
  forced(request: InflightRequest, upgrade: boolean): void;
  /** `failure` is `undefined` when the hook succeeded. */
  hook(name: string, failure: HookFailure | undefined, duration: number): void;
  shutdownEnd(result: ShutdownResult): void;
  availability(startup: StartupStatus, broken: string | undefined): void;
  /** Requests and upgrades destroyed at the deadline so far. */
  readonly forcedCount: number;
}

/** The events of `manager` (read when an event is published: the manager is built after its parts). */
export function createEvents(manager: () => object): Events {
  let forcedCount = 0;
  return {
    get forcedCount() {
      return forcedCount;
    },
    shutdownStart(reason, timeout) {
      if (shutdownStart.hasSubscribers) shutdownStart.publish({ lameduck: manager(), reason, timeout });
    },
    state(next, previous) {
      if (state.hasSubscribers) state.publish({ lameduck: manager(), state: next, previous });
    },
    rejected(request, count) {
      if (!requestRejected.hasSubscribers) return;
      requestRejected.publish({ lameduck: manager(), method: request?.method, url: request?.url, rejected: count });
    },
    forced({ method, url, age }, upgrade) {
      forcedCount++;
      if (requestForced.hasSubscribers) requestForced.publish({ lameduck: manager(), method, url, age, upgrade });
    },
    hook(name, failure, duration) {
      if (!hook.hasSubscribers) return;
      hook.publish({
        lameduck: manager(),
        name,
        ok: failure === undefined,
        timedOut: failure?.timedOut ?? false,
        error: failure?.error,
        duration,
      });
    },
    shutdownEnd(result) {
      if (shutdownEnd.hasSubscribers) shutdownEnd.publish({ lameduck: manager(), result });
    },
    availability(startup, broken) {
      if (availability.hasSubscribers) availability.publish({ lameduck: manager(), startup, broken });
    },
  };
}
