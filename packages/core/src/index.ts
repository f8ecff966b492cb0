/** @lameduck/core: correct, timeout-bounded graceful shutdown for Node.js HTTP servers. */
export { createLameduck } from './lameduck.js';
export type { Lameduck } from './lameduck.js';
export type {
  AnyRequest,
  AnyResponse,
  AttachableServer,
  CheckOutcome,
  CheckSpec,
  CleanupHook,
  DrainTarget,
  HookFailure,
  HookOptions,
  HookPhase,
  InflightRequest,
  IntervalCheck,
  LameduckState,
  LameduckStats,
  Logger,
  PlainResponse,
  ProbeOrigin,
  ReadinessCheck,
  ShutdownResult,
  SignalHandle,
  StartupStatus,
  TargetManager,
  Task,
} from './types.js';
export { CHANNELS } from './channels.js';
export { DRAINABLE } from './targets.js';
export type { Drainable } from './targets.js';
export type { BunServer, DenoServer, FetchServer } from './fetch/servers.js';
export type { BunFetchInfo, DenoFetchInfo, FetchInfo } from './fetch/handler.js';
export { prometheusMetrics, PROMETHEUS_CONTENT_TYPE } from './metrics.js';
export type { MetricsOptions } from './metrics.js';
export { DEFAULTS } from './options.js';
export { answerAhead, coordinateFrameworkClose, isLameduck, resolveManager } from './adapter.js';
export type { AdapterOptions, FrameworkClose, FrameworkDefaults } from './adapter.js';
export type { LameduckOptions, SignalOptions, ResolvedOptions } from './options.js';
export type { LameduckError, LameduckErrorCode } from './errors.js';
export { inheritedListener } from './listen-fds.js';
export type { InheritedListener } from './listen-fds.js';
export { notifyReady } from './ready.js';
export { drainSocketIo, SOCKET_IO_DEFAULTS } from './integrations/socket-io.js';
export type { EngineSocketLike, SocketIoDrainOptions, SocketIoServerLike } from './integrations/socket-io.js';
export type { NotifyReadyOptions } from './ready.js';
export { drainWorker } from './integrations/bullmq.js';
export type { QueueWorkerLike } from './integrations/bullmq.js';
// For lameduck's own packages (@lameduck/cluster): one log format and one error shape across them.
export { createLog } from './logger.js';
export type { Log } from './logger.js';
export { createError, invalidOption } from './errors.js';
