/** @lameduck/cluster: zero-downtime rolling restarts of node:cluster workers drained by lameduck. */
export { createCluster } from './cluster.js';
export type { LameduckCluster } from './cluster.js';
export { CLUSTER_DEFAULTS } from './options.js';
export type { ClusterOptions, ResolvedClusterOptions } from './options.js';
export type { ClusterSignalHandle, ClusterSignalOptions } from './signals.js';
export type { ClusterShutdownResult, RollFailure, RollResult, WorkerExit } from './types.js';
// Workers report ready with core's notifyReady(); re-exported so a worker needs one import.
export { notifyReady } from '@lameduck/core';
