/** Waiting on files other processes write (PM2's logs): fs.watch, never a sleep. */
import { existsSync, readFileSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';

/** Resolves with the first line of `file` that `match` accepts, as soon as it is written. */
export function lineIn(file: string, match: (line: string) => boolean, timeout = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const find = (): string | undefined =>
      existsSync(file) ? readFileSync(file, 'utf8').split('\n').find(match) : undefined;
    const watcher = watch(dirname(file), (_event, name) => {
      if (name !== null && name !== basename(file)) return;
      const line = find();
      if (line !== undefined) finish(() => resolve(line));
    });
    const timer = setTimeout(
      () => finish(() => reject(new Error(`no matching line in ${file} after ${timeout} ms`))),
      timeout,
    );
    function finish(settle: () => void): void {
      watcher.close();
      clearTimeout(timer);
      settle();
    }
    const line = find();
    if (line !== undefined) finish(() => resolve(line));
  });
}
