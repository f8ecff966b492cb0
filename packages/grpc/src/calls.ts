/** The calls of one gRPC server, seen through a server interceptor: counted, named, refused in the drain's last stretch, Watch streams ended. */
import { ServerInterceptingCall, status as grpcStatus } from '@grpc/grpc-js';
import type { Metadata, ServerInterceptingCallInterface, ServerInterceptor } from '@grpc/grpc-js';
import type { InflightRequest, TargetManager } from '@lameduck/core';

/** The health service's streaming method: its streams never end by themselves, so the drain ends them. */
export const WATCH_PATH = '/grpc.health.v1.Health/Watch';
/** The health service's polled method: a health checker (Envoy, a cloud balancer) calls it on its own rhythm. */
const CHECK_PATH = '/grpc.health.v1.Health/Check';

/** One call from its first byte to its status (or its cancellation). */
interface Call {
  readonly path: string;
  readonly started: number;
  /** The call toward the transport, below every other interceptor: a status sent here reaches the client. */
  readonly inner: ServerInterceptingCallInterface;
}

/** What the drain target reads and drives of the calls. */
export interface Calls {
  /** Goes first in `ServerOptions.interceptors`, so it sees every call and every status, whoever sends it. */
  readonly interceptor: ServerInterceptor;
  /** The manager that refuses and counts; set when the server is attached. */
  manager: TargetManager | undefined;
  /** Calls in flight now. */
  size(): number;
  /** Calls in flight now, named `gRPC /package.Service/Method`, with their age in ms. */
  describe(): InflightRequest[];
  /** Calls that ended since the shutdown started. */
  completed(): number;
  /** Ends every open health `Watch` stream with `OK` (it last said NOT_SERVING), and every later one at once. */
  endWatches(): void;
  /** Resolves when no call is in flight. */
  idle(): Promise<void>;
}

/** A call's peer, `address:port` in grpc-js, as the address alone: a checker's port changes with each connection. */
function peerAddress(peer: string): string | undefined {
  return peer === 'unknown' ? undefined : peer.replace(/:\d+$/, '');
}

/** Tells the manager of a health `Check`: its caller is a readiness prober. */
function probed(manager: TargetManager, inner: ServerInterceptingCallInterface, metadata: Metadata): void {
  const userAgent = metadata.get('user-agent')[0];
  manager.probed({
    address: peerAddress(inner.getPeer()),
    userAgent: typeof userAgent === 'string' ? userAgent : undefined,
  });
}

/** `checksProbe`: the health service's answers are lameduck's, so its `Check` callers are readiness probers. */
export function createCalls({ checksProbe }: { checksProbe: boolean }): Calls {
  const open = new Set<Call>();
  let completed = 0;
  let watchesEnded = false;
  let waiters: (() => void)[] = [];

  const ended = (call: Call): void => {
    if (!open.delete(call)) return;
    if (calls.manager !== undefined && calls.manager.state !== 'serving') completed += 1;
    if (open.size === 0 && waiters.length > 0) {
      const woken = waiters;
      waiters = [];
      for (const wake of woken) wake();
    }
  };

  const endWatch = (call: Call): void => {
    ended(call);
    call.inner.sendStatus({ code: grpcStatus.OK, details: 'server shutting down' });
  };

  /** In the drain's last stretch a new call is answered UNAVAILABLE (retryable) instead of being served. */
  const refuse = (inner: ServerInterceptingCallInterface, manager: TargetManager): void => {
    const answer = manager.reject();
    const details = typeof answer.body === 'string' ? answer.body : 'server shutting down';
    inner.sendStatus({ code: grpcStatus.UNAVAILABLE, details });
  };

  function lameduckInterceptor(method: { path: string }, inner: ServerInterceptingCallInterface) {
    const call: Call = { path: method.path, started: Date.now(), inner };
    open.add(call);
    return new ServerInterceptingCall(inner, {
      start(next) {
        next({
          onReceiveMetadata(metadata: Metadata, pass: (metadata: Metadata) => void) {
            const manager = calls.manager;
            if (manager?.deadlineSignal.aborted === true) {
              open.delete(call);
              refuse(inner, manager);
            } else if (watchesEnded && call.path === WATCH_PATH) {
              endWatch(call);
            } else {
              if (checksProbe && call.path === CHECK_PATH && manager !== undefined) probed(manager, inner, metadata);
              pass(metadata);
            }
          },
          onCancel: () => ended(call),
        });
      },
      sendStatus(status, next) {
        ended(call);
        next(status);
      },
    });
  }

  const calls: Calls = {
    interceptor: lameduckInterceptor,
    manager: undefined,
    size: () => open.size,
    describe() {
      const now = Date.now();
      return [...open].map((call) => ({ method: 'gRPC', url: call.path, age: now - call.started }));
    },
    completed: () => completed,
    endWatches() {
      watchesEnded = true;
      for (const call of [...open]) if (call.path === WATCH_PATH) endWatch(call);
    },
    idle: () => (open.size === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve))),
  };
  return calls;
}
