/** Where the restart tests put what they measured, for `pnpm e2e`'s side-by-side report (E2E.md). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadResult } from './load.js';

/** Restarts under one engine, with lameduck and with the textbook `server.close()`. */
export interface Comparison {
  engine: string;
  restart: string;
  lameduck: LoadResult;
  textbook: LoadResult;
  /** How the retired processes exited, per variant: `{ "exit 0": 8 }`, `{ "SIGKILL (forced)": 2 }`. */
  exits?: { lameduck: Record<string, number>; textbook: Record<string, number> };
}

/** Writes the comparison as `<E2E_RESULTS>/<file>.json` when `E2E_RESULTS` is set (by `pnpm e2e`). */
export function record(file: string, comparison: Comparison): void {
  const dir = process.env.E2E_RESULTS;
  if (dir === undefined || dir === '') return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${file}.json`), `${JSON.stringify(comparison, null, 2)}\n`);
}

/** Tallies exits as `exit 0`, `exit 1`, `SIGKILL`…, with `(forced)` when killed after the stop timeout. */
export function tally(exits: { code?: unknown; signal?: unknown; forced?: unknown }[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const exit of exits) {
    const kind = `${exit.signal ? String(exit.signal) : `exit ${String(exit.code)}`}${exit.forced ? ' (forced)' : ''}`;
    counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}
