/** drainWorker(): its argument is checked; the worker's close and cancel come at the shutdown's start and at deadlineSignal (BullMQ itself: packages/integrations). */
import { createLameduck, drainWorker } from '@lameduck/core';

test.each([[undefined], [null], [{}], [{ close: () => Promise.resolve() }]])(
  'a worker without close() and cancelAllJobs() (%p) is refused, naming it',
  (worker) => {
    const lameduck = createLameduck({ silent: true });
    expect(() => drainWorker(lameduck, worker as never)).toThrow(
      expect.objectContaining({
        code: 'LAMEDUCK_INVALID_OPTION',
        message: expect.stringContaining('option "worker" must be a BullMQ Worker (with close() and cancelAllJobs())'),
      }),
    );
  },
);

test('close() when the shutdown starts, awaited by the drain; cancelAllJobs() when deadlineSignal aborts; a remover undoes both', async () => {
  const lameduck = createLameduck({ silent: true, readinessDelay: 0, timeout: 1_000, cleanupReserve: 200 });
  const calls: string[] = [];
  let finish!: () => void;
  const worker = {
    close: () => {
      calls.push(`close:${lameduck.state}`);
      return new Promise<void>((resolve) => (finish = resolve));
    },
    cancelAllJobs: (reason?: string) => {
      calls.push(`cancel:${lameduck.deadlineSignal.aborted}:${reason}`);
      finish();
    },
  };
  drainWorker(lameduck, worker);
  const removed = {
    close: async () => void calls.push('removed'),
    cancelAllJobs: () => void calls.push('removed'),
  };
  drainWorker(lameduck, removed)();
  const result = await lameduck.shutdown();
  expect(calls).toEqual(['close:lameduck', 'cancel:true:lameduck: the shutdown deadline is near']);
  expect(result).toMatchObject({ graceful: true, forced: false, abandonedTasks: 0 });
});
