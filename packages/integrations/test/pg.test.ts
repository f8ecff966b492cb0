/** pg on a real PostgreSQL: the pool ends after the last response that needed it, and no query of a draining request fails. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { createLameduck, type ShutdownResult } from '@lameduck/core';
import { deferred, request, type Reply } from '@lameduck/test-utils';
import { startPostgres, type PostgresServer } from './postgres-server.js';

/** Requests in flight when the shutdown starts: more than the pool has clients, so some wait for one. */
const IN_FLIGHT = 12;

let postgres: PostgresServer;

beforeAll(async () => {
  postgres = await startPostgres();
}, 60_000);

afterAll(async () => {
  await postgres?.stop();
});

/**
 * An app whose requests each query twice: once on arrival, once more after `gate` opens (the drain has started
 * by then). The pool ends where `end` says: in a cleanup hook, or in a closer (when the drain starts), as an
 * app that ends it in its SIGTERM handler does.
 */
async function drainWithQueries(end: 'hook' | 'closer'): Promise<{
  replies: Reply[];
  finishedAt: number[];
  poolEndedAt: number;
  pool: pg.Pool;
  result: ShutdownResult;
}> {
  const lameduck = createLameduck({ silent: true, readinessDelay: 0, timeout: 10_000 });
  const pool = new pg.Pool({ host: postgres.host, user: postgres.user, database: 'postgres', max: 4 });
  const gate = deferred();
  const arrived: Promise<void>[] = [];
  const arrivals = Array.from({ length: IN_FLIGHT }, () => deferred());
  arrived.push(...arrivals.map((arrival) => arrival.promise));
  let next = 0;
  const finishedAt: number[] = [];
  const server = http.createServer((req, res) => {
    if (lameduck.handle(req, res)) return;
    const arrival = arrivals[next++]!;
    res.on('finish', () => finishedAt.push(performance.now()));
    void (async () => {
      try {
        const { rows } = await pool.query<{ n: number }>('SELECT $1::int AS n', [1]);
        arrival.resolve();
        await gate.promise;
        const again = await pool.query<{ n: number }>('SELECT $1::int + 1 AS n', [rows[0]!.n]);
        res.end(String(again.rows[0]!.n));
      } catch (error) {
        res.statusCode = 500;
        res.end((error as Error).message);
      }
    })();
  });
  lameduck.attach(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  let poolEndedAt = Number.NaN;
  const endPool = async (): Promise<void> => {
    poolEndedAt = performance.now();
    await pool.end();
  };
  if (end === 'hook') lameduck.addHook(endPool, { name: 'pg pool' });
  else lameduck.addCloser(endPool, { name: 'pg pool' });

  const { port } = server.address() as AddressInfo;
  const replies = Array.from({ length: IN_FLIGHT }, () => request(port, { path: '/query', agent: false }));
  await Promise.all(arrived);
  const result = lameduck.shutdown('test');
  // With no lame-duck phase the drain starts within shutdown(); otherwise, when drainSignal aborts.
  if (!lameduck.drainSignal.aborted) {
    await new Promise<void>((resolve) => lameduck.drainSignal.addEventListener('abort', () => resolve()));
  }
  // The listener is closed and the drain has started: now every request needs the pool once more.
  gate.resolve();
  const answered = await Promise.all(replies);
  return { replies: answered, finishedAt, poolEndedAt, pool, result: await result };
}

test('the pool ends in a cleanup hook, after the last response: every query of the requests in flight succeeds', async () => {
  const { replies, finishedAt, poolEndedAt, pool, result } = await drainWithQueries('hook');
  expect(result).toMatchObject({ graceful: true, hookFailures: [] });
  expect(replies.map((reply) => [reply.status, reply.body])).toEqual(Array(IN_FLIGHT).fill([200, '2']));
  expect(finishedAt).toHaveLength(IN_FLIGHT);
  expect(poolEndedAt).toBeGreaterThan(Math.max(...finishedAt));
  expect([pool.ended, pool.totalCount]).toEqual([true, 0]);
});

test('ended when the drain starts (a closer, or a SIGTERM handler of its own), the pool fails the requests still in flight', async () => {
  const { replies, pool } = await drainWithQueries('closer');
  expect(replies.map((reply) => [reply.status, reply.body])).toEqual(
    Array(IN_FLIGHT).fill([500, 'Cannot use a pool after calling end on the pool']),
  );
  expect(pool.ended).toBe(true);
});
