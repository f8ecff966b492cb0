/** The logger lameduck writes to: a user's pino-compatible logger, JSON or human lines on stderr, or nothing. */
import { humanLine } from './human.js';
import type { Logger } from './types.js';

/** What lameduck logs through: never throws, even when the user's logger does. */
export interface Log {
  /** Progress: the shutdown's start, the listener closing, the drain, the result when graceful. */
  info(fields: object, message: string): void;
  /** What went wrong without failing the process: a rejected request, a forced one. */
  warn(fields: object, message: string): void;
  /** A hook that failed, a second signal, an uncaught error. */
  error(fields: object, message: string): void;
}

type Level = keyof Logger;

function serialise(key: string, value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return { type: value.name, message: value.message, ...(code === undefined ? {} : { code }), stack: value.stack };
  }
  return typeof value === 'bigint' ? value.toString() : value;
}

function writeJsonLine(level: Level, fields: object, message: string): void {
  const line = JSON.stringify({ level, time: Date.now(), name: 'lameduck', msg: message, ...fields }, serialise);
  process.stderr.write(`${line}\n`);
}

function writeHumanLine(level: Level, fields: object, message: string): void {
  const line = humanLine(level, fields as Record<string, unknown>, message);
  if (line !== undefined) process.stderr.write(`${line}\n`);
}

const silent: Log = Object.freeze({ info() {}, warn() {}, error() {} });

/**
 * Builds the log for a manager from its `logger` and `silent` options. Without a logger it writes JSON
 * lines, or short human lines when stderr is a terminal (`human`, read once: a person is watching).
 */
export function createLog(logger: Logger | undefined, isSilent: boolean, human = process.stderr.isTTY === true): Log {
  if (isSilent) return silent;
  if (logger === undefined) {
    const write = human ? writeHumanLine : writeJsonLine;
    return {
      info: (fields, message) => write('info', fields, message),
      warn: (fields, message) => write('warn', fields, message),
      error: (fields, message) => write('error', fields, message),
    };
  }
  const call = (level: Level, fields: object, message: string): void => {
    try {
      logger[level](fields, message);
    } catch {
      // A logger that throws must not break a shutdown in progress; there is nowhere better to report it.
    }
  };
  return {
    info: (fields, message) => call('info', fields, message),
    warn: (fields, message) => call('warn', fields, message),
    error: (fields, message) => call('error', fields, message),
  };
}
