/** Tells the process manager that started this process (PM2's `wait_ready`, @lameduck/cluster) it is ready. */
import { invalidOption } from './errors.js';
import type { Lameduck } from './lameduck.js';

/** Options of `notifyReady()`. */
export interface NotifyReadyOptions {
  /**
   * How often readiness is checked again while it fails (a check still warming up), in ms.
   * @default 250
   * @example notifyReady(lameduck, { interval: 100 })
   */
  interval?: number;
}

/**
 * Once readiness passes (every check), sends `'ready'` to the parent over IPC: the message PM2 waits
 * for with `wait_ready: true` and @lameduck/cluster's primary waits for before retiring an old worker.
 * Call it once the server listens. Resolves `true` when sent; `false` when there is no IPC channel or
 * shutdown started first.
 * @example server.listen(3000, () => void notifyReady(lameduck));
 */
export async function notifyReady(
  lameduck: Pick<Lameduck, 'readiness' | 'state'>,
  options: NotifyReadyOptions = {},
): Promise<boolean> {
  const interval = options.interval ?? 250;
  if (typeof interval !== 'number' || !Number.isFinite(interval) || interval <= 0) {
    throw invalidOption('interval', 'a positive number of milliseconds', interval);
  }
  while (lameduck.state === 'serving') {
    if ((await lameduck.readiness()).status === 200) {
      if (lameduck.state !== 'serving' || process.send === undefined || !process.connected) return false;
      process.send('ready');
      return true;
    }
    await new Promise((resolve) => setTimeout(resolve, interval).unref());
  }
  return false;
}
