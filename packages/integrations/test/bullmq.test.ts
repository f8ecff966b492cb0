/** BullMQ 6 workers on a real Redis, drained by lameduck on a real SIGTERM: rolling restarts under load, and a job moved back to the queue. */
import path from 'node:path';
import { Queue, QueueEvents, type ConnectionOptions } from 'bullmq';
import { deferred, request, spawnChild, stopChild, type Child, type Line } from '@lameduck/test-utils';
import { startRedis, type RedisServer } from './redis-server.js';

const FIXTURE = path.join(__dirname, 'fixtures', 'bullmq-worker.ts');
const TOTAL = 1_000;
/** Jobs added before each restart, so that every worker is stopped under load; the rest of TOTAL after them. */
const BATCH = 200;

let redis: RedisServer;
let connection: ConnectionOptions;
const children: Child[] = [];

beforeAll(async () => {
  redis = await startRedis();
  connection = { path: redis.socket };
});

afterAll(async () => {
  await Promise.all(children.map(stopChild));
  await redis?.stop();
});

function startWorker(queue: string, env: Record<string, string> = {}): Child {
  const child = spawnChild(['--conditions=@lameduck/source', '--import', 'tsx', FIXTURE], {
    env: { REDIS_SOCKET: redis.socket, QUEUE: queue, ...env },
  });
  children.push(child);
  return child;
}

const is =
  (event: string, id?: string) =>
  (line: Line): boolean =>
    line.event === event && (id === undefined || line.id === id);

/** A queue and what its events say went wrong: stalled and failed jobs. */
async function openQueue(
  name: string,
): Promise<{ queue: Queue; stalled: string[]; failed: string[]; close(): Promise<void> }> {
  const queue = new Queue(name, { connection });
  const events = new QueueEvents(name, { connection });
  await events.waitUntilReady();
  const stalled: string[] = [];
  const failed: string[] = [];
  events.on('stalled', ({ jobId }) => stalled.push(jobId));
  events.on('failed', ({ jobId }) => failed.push(jobId));
  return { queue, stalled, failed, close: async () => void (await Promise.all([events.close(), queue.close()])) };
}

test(`${TOTAL} jobs, three workers restarted one by one under load (SIGTERM): each job completed once, none stalled or failed, every exit 0`, async () => {
  const { queue, stalled, failed, close } = await openQueue('restarts');
  try {
    let added = 0;
    let doneCount = 0;
    const allDone = deferred();
    const addJobs = async (count: number): Promise<number> => {
      const first = added;
      added += count;
      const jobs = Array.from({ length: count }, (_, i) => ({
        name: 'short',
        data: { ms: 100 },
        opts: { jobId: `job-${first + i}` },
      }));
      await queue.addBulk(jobs);
      return first;
    };
    const spawn = (variant: Record<string, string>): Child => {
      const child = startWorker('restarts', { CONCURRENCY: '8', ...variant });
      child.onEvent((line) => {
        if (line.event === 'done' && ++doneCount === TOTAL) allDone.resolve();
      });
      return child;
    };
    // One of the three serves its own probes; the other two have no HTTP server at all.
    const variants: Record<string, string>[] = [{}, { PROBES: '1' }, {}];
    const workers = variants.map(spawn);
    await Promise.all(workers.map((worker) => worker.event(is('ready'))));

    const stopped: { child: Child; shutdown: Line }[] = [];
    for (const [index, variant] of variants.entries()) {
      // As a rolling update with a surge of one: the new worker is up (its probes say so) before the old one stops.
      const replacement = spawn(variant);
      const ready = await replacement.event(is('ready'));
      if (variant.PROBES === '1') {
        const probes = ['/startupz', '/readyz', '/livez'].map((probe) =>
          request(Number(ready.port), { path: probe, agent: false }),
        );
        expect((await Promise.all(probes)).map((reply) => reply.status)).toEqual([200, 200, 200]);
      }
      // Under load: a backlog of BATCH jobs, and the old worker busy with them, when SIGTERM arrives.
      const first = await addJobs(BATCH);
      const old = workers[index]!;
      await old.event((line) => is('start')(line) && Number(String(line.id).slice('job-'.length)) >= first);
      old.kill('SIGTERM');
      const shutdown = await old.event(is('shutdown'));
      expect(await old.exited).toEqual({ code: 0, signal: null });
      stopped.push({ child: old, shutdown });
      workers.push(replacement);
    }
    await addJobs(TOTAL - added);
    await allDone.promise;
    for (const worker of workers.slice(3)) worker.kill('SIGTERM');
    for (const worker of workers.slice(3)) expect(await worker.exited).toEqual({ code: 0, signal: null });

    const lines = children.flatMap((child) => child.events);
    const doneIds = lines.filter(is('done')).map((line) => String(line.id));
    expect(doneIds.length).toBe(TOTAL);
    expect(new Set(doneIds).size).toBe(TOTAL);
    for (const { child, shutdown } of stopped) {
      // Stopped with jobs in its hands: it finished each of them and asked for none after the signal. (Jobs
      // Redis handed it as the signal came, in answer to an earlier request, are active under its lock: it runs them.)
      expect(shutdown.active).toBeGreaterThan(0);
      const started = child.events.filter(is('start'));
      expect(started.filter((line) => Number(line.claimedAt) > Number(shutdown.at))).toEqual([]);
      const done = child.events.filter(is('done')).map((line) => line.id);
      expect(done.length).toBe(started.length);
      expect(done).toEqual(expect.arrayContaining(started.map((line) => line.id)));
    }
    expect(lines.filter(is('requeued'))).toEqual([]);
    expect(lines.filter(is('worker-error'))).toEqual([]);
    expect(await queue.getJobCounts('completed', 'failed', 'active', 'wait', 'delayed', 'prioritized')).toEqual({
      completed: TOTAL,
      failed: 0,
      active: 0,
      wait: 0,
      delayed: 0,
      prioritized: 0,
    });
    const completed = await queue.getJobs(['completed'], 0, -1);
    expect(completed.filter((job) => job.attemptsStarted !== 1 || job.stalledCounter !== 0)).toEqual([]);
    expect([stalled, failed]).toEqual([[], []]);
  } finally {
    await close();
  }
}, 120_000);

test('a job that cannot finish before the deadline goes back to the queue, not stalled or failed; another worker completes it', async () => {
  const { queue, stalled, failed, close } = await openQueue('requeue');
  try {
    // 3 s in all: deadlineSignal aborts 1.5 s after the signal, the drain would be forced at 2.5 s.
    const options = { timeout: 3_000, cleanupReserve: 500, abortBefore: 1_000 };
    const first = startWorker('requeue', { LAMEDUCK_OPTIONS: JSON.stringify(options) });
    await first.event(is('ready'));
    await queue.add('long', { ms: 60_000, retryMs: 10 }, { jobId: 'long' });
    await first.event(is('start', 'long'));
    const signalled = first.kill('SIGTERM');
    expect(await first.event(is('shutdown'))).toMatchObject({ active: 1 });
    expect(await first.event(is('requeued', 'long'))).toBeDefined();
    const result = await first.event(is('result'));
    expect(await first.timedExit).toMatchObject({ code: 0, signal: null });
    expect(result).toMatchObject({ graceful: true, exitCode: 0 });
    expect((await first.timedExit).at - signalled).toBeLessThan(options.timeout);
    const job = (await queue.getJob('long'))!;
    expect([await job.getState(), job.attemptsStarted, job.attemptsMade, job.stalledCounter]).toEqual([
      'waiting',
      1,
      0,
      0,
    ]);

    const second = startWorker('requeue');
    await second.event(is('done', 'long'));
    second.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
    const finished = (await queue.getJob('long'))!;
    expect([await finished.getState(), finished.returnvalue, finished.attemptsStarted]).toEqual([
      'completed',
      second.process.pid,
      2,
    ]);
    expect([stalled, failed]).toEqual([[], []]);
  } finally {
    await close();
  }
}, 60_000);
