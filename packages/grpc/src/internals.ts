/** The private state of a grpc-js `Server` that lameduck reads, every read guarded, all in this one file. */
import type { Server, ServerInterceptor } from '@grpc/grpc-js';

/** What grpc-js 1.10–1.14 keep on a `Server` (TypeScript-private fields, plain properties at run time). */
interface ServerInternals {
  /** `/package.Service/Method` → handler, one entry per method of every service added. */
  handlers?: unknown;
  /** Open HTTP/2 sessions (connections) → channelz info. */
  sessions?: unknown;
  /** `ServerOptions.interceptors`, as given to the constructor. */
  interceptors?: unknown;
}

const internals = (server: Server): ServerInternals => server as unknown as ServerInternals;

/** The services the application added (`package.Service`), read from the method paths; `[]` when unreadable. */
export function registeredServices(server: Server): string[] {
  const { handlers } = internals(server);
  if (!(handlers instanceof Map)) return [];
  const services = new Set<string>();
  for (const path of handlers.keys()) {
    const service = typeof path === 'string' ? path.split('/')[1] : undefined;
    if (service !== undefined && service !== '') services.add(service);
  }
  return [...services];
}

/** Open connections (HTTP/2 sessions); 0 when unreadable. */
export function sessionCount(server: Server): number {
  const { sessions } = internals(server);
  return sessions instanceof Map ? sessions.size : 0;
}

/** False only when the server's interceptors can be read and `interceptor` is not among them. */
export function mayUse(server: Server, interceptor: ServerInterceptor): boolean {
  const { interceptors } = internals(server);
  return !Array.isArray(interceptors) || interceptors.includes(interceptor);
}
