/** @lameduck/grpc: graceful shutdown for @grpc/grpc-js servers, alone or beside HTTP servers under one manager. */
export { createGrpcDrain } from './drain.js';
export type { GrpcDrain, GrpcDrainOptions, HealthStatusSetter } from './drain.js';
export type { Drainable, Lameduck, LameduckOptions, ShutdownResult, SignalOptions } from '@lameduck/core';
export { createLameduck } from '@lameduck/core';
