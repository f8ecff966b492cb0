/** @lameduck/cluster's options: their documentation, defaults and validation. */
import { availableParallelism } from 'node:os';
import { invalidOption, type Logger } from '@lameduck/core';

/** Options of `createCluster()`. Durations are in milliseconds. */
export interface ClusterOptions {
  /**
   * How many workers to run.
   * @default os.availableParallelism()
   * @example createCluster({ workers: 4 })
   */
  workers?: number;
  /**
   * How long a new worker has to report ready (`notifyReady()`: listening, and readiness passing)
   * before the roll stops and the worker is shut down again.
   * @default 30000
   * @example createCluster({ readyTimeout: 60_000 }) // a slow warm-up
   */
  readyTimeout?: number;
  /**
   * How long a worker has to drain and exit after it is told to shut down, before it is killed
   * (`SIGKILL`) and counted as forced. Make it longer than the workers' lameduck `timeout`.
   * @default 30000
   * @example createCluster({ stopTimeout: 60_000 }) // workers with createLameduck({ timeout: 50_000 })
   */
  stopTimeout?: number;
  /**
   * A pino-compatible logger; without one, JSON lines go to stderr.
   * @default undefined
   * @example createCluster({ logger: pino() })
   */
  logger?: Logger;
  /**
   * Log nothing.
   * @default false
   * @example createCluster({ silent: true })
   */
  silent?: boolean;
}

/** The options with defaults applied. */
export type ResolvedClusterOptions = Required<Omit<ClusterOptions, 'logger'>> & {
  /** The logger given, or `undefined` for JSON lines on stderr. */
  logger: Logger | undefined;
};

/** The defaults of `createCluster()` (`workers` defaults to `os.availableParallelism()`). */
export const CLUSTER_DEFAULTS = Object.freeze({ readyTimeout: 30_000, stopTimeout: 30_000, silent: false });

const KNOWN = new Set(['workers', 'readyTimeout', 'stopTimeout', 'logger', 'silent']);

function positiveInteger(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw invalidOption(name, 'a whole number of at least 1', value);
  }
  return value;
}

/** Validates `createCluster()`'s options; throws `LAMEDUCK_INVALID_OPTION` naming the option. */
export function resolveClusterOptions(input: ClusterOptions = {}): ResolvedClusterOptions {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw invalidOption('options', 'an object', input);
  }
  for (const key of Object.keys(input)) {
    if (!KNOWN.has(key))
      throw invalidOption(key, `one of the known options (${[...KNOWN].join(', ')})`, input[key as never]);
  }
  const { logger, silent } = input;
  if (logger !== undefined && (typeof logger !== 'object' || logger === null)) {
    throw invalidOption('logger', 'an object with info, warn and error functions (pino, say)', logger);
  }
  if (silent !== undefined && typeof silent !== 'boolean') throw invalidOption('silent', 'a boolean', silent);
  return {
    workers: positiveInteger(input.workers, 'workers', availableParallelism()),
    readyTimeout: positiveInteger(input.readyTimeout, 'readyTimeout', CLUSTER_DEFAULTS.readyTimeout),
    stopTimeout: positiveInteger(input.stopTimeout, 'stopTimeout', CLUSTER_DEFAULTS.stopTimeout),
    logger,
    silent: silent ?? CLUSTER_DEFAULTS.silent,
  };
}
