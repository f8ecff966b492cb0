/** @lameduck/core: correct, timeout-bounded graceful shutdown for Node.js HTTP servers. */
export { createLameduck } from './lameduck.js';
export type {
  AnyRequest,
  AnyResponse,
  Lameduck,
  LameduckState,
  LameduckStats,
  ShutdownResult,
  Task,
} from './lameduck.js';
export { DEFAULTS } from './options.js';
export { resolveManager } from './adapter.js';
export type { AdapterOptions } from './adapter.js';
export type { LameduckOptions, ReadinessCheck, SignalOptions, ResolvedOptions } from './options.js';
export type { AttachableServer, InflightRequest } from './connections.js';
export type { CleanupHook, HookFailure, HookOptions } from './hooks.js';
export type { PlainResponse, CheckOutcome } from './health.js';
export type { Logger } from './logger.js';
export type { SignalHandle } from './signals.js';
export type { LameduckError, LameduckErrorCode } from './errors.js';
