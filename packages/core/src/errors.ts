/** lameduck's error codes and the one factory that creates its errors. */
import { inspect } from 'node:util';

/** Every code lameduck puts on `err.code`. Check codes, not `instanceof`. */
export type LameduckErrorCode =
  | 'LAMEDUCK_INVALID_OPTION'
  | 'LAMEDUCK_INVALID_ARGUMENT'
  | 'LAMEDUCK_ALREADY_ATTACHED'
  | 'LAMEDUCK_ALREADY_STARTED'
  | 'LAMEDUCK_SHUTTING_DOWN'
  | 'LAMEDUCK_DEADLINE'
  | 'LAMEDUCK_HOOK_TIMEOUT'
  | 'LAMEDUCK_HOOK_SKIPPED'
  | 'LAMEDUCK_WORKER_EXITED'
  | 'LAMEDUCK_WORKER_NOT_READY'
  | 'LAMEDUCK_UNSUPPORTED_RUNTIME';

/** An error raised by lameduck; `code` says which. */
export interface LameduckError extends Error {
  /** Which error: `LAMEDUCK_INVALID_OPTION`, `LAMEDUCK_ALREADY_ATTACHED`… */
  code: LameduckErrorCode;
  /** For `LAMEDUCK_INVALID_OPTION`: the option's name. */
  option?: string;
  /** For `LAMEDUCK_INVALID_OPTION`: the value that was received. */
  received?: unknown;
}

/** Creates an error of class `Kind` carrying `code` (and `cause` when given). */
export function createError(
  Kind: ErrorConstructor | TypeErrorConstructor,
  code: LameduckErrorCode,
  message: string,
  extra?: { cause?: unknown; option?: string; received?: unknown },
): LameduckError {
  const error = new Kind(message, extra?.cause === undefined ? undefined : { cause: extra.cause }) as LameduckError;
  error.code = code;
  if (extra !== undefined && 'option' in extra) {
    error.option = extra.option;
    error.received = extra.received;
  }
  return error;
}

/** A short, unambiguous rendering of a received value for error messages: `"5s" (string)`. */
export function describeValue(value: unknown): string {
  const shown = inspect(value, { depth: 0, breakLength: Infinity, maxArrayLength: 5, maxStringLength: 60 });
  const kind = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  return `${shown} (${kind})`;
}

/** The `TypeError` thrown for a bad option: it names the option and what was received. */
export function invalidOption(option: string, expected: string, received: unknown): LameduckError {
  return createError(
    TypeError,
    'LAMEDUCK_INVALID_OPTION',
    `lameduck: option "${option}" must be ${expected}; received ${describeValue(received)}`,
    { option, received },
  );
}
