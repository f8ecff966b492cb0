/** The conformance suite: the same drain scenarios, over real sockets, for every server kind. */
import http from 'node:http';
import { setTimeout } from 'node:timers/promises';
import type { LameduckOptions, ShutdownResult } from '@lameduck/core';
import { WebSocket } from 'ws';
import { deferred, once, request, uploadWhileClosing, type Deferred } from '@lameduck/test-utils';
import { adapterMatrix } from './adapters.js';
import { availability } from './availability.js';
import { hostile } from './hostile.js';
import { LAST_STRETCH, lastStretch } from './last-stretch.js';
import { parseResponses } from './raw-http.js';
import { start, type Kind, type Running } from './servers.js';

const AUTH = { authorization: 'yes' };

/** The drain suite for `kind`, and the adapter matrix when `kind` goes through an adapter. */
export function conformance(kind: Kind): void {
  if (kind !== 'node-http') adapterMatrix(kind);
  hostile(kind);
  describe(`${kind}: conformance`, () => {
    let running: Running | undefined;
    let release: Deferred<void>;
    let arrived: Deferred<void>;
    const agents: http.Agent[] = [];
    const agent = () => {
      const created = new http.Agent({ keepAlive: true });
      agents.push(created);
      return created;
    };
    async function server(options: LameduckOptions): Promise<Running> {
      release = deferred();
      arrived = deferred();
      running = await start(
        kind,
        { silent: true, readinessDelay: 0, idleGrace: 20, ...options },
        {
          slow: () => {
            arrived.resolve();
            return release.promise;
          },
        },
      );
      return running;
    }
    afterEach(async () => {
      for (const created of agents.splice(0)) created.destroy();
      release.resolve();
      await running?.close();
      running = undefined;
    });

    test('an in-flight request finishes with Connection: close; idle keep-alive sockets close; graceful', async () => {
      const { port, lameduck } = await server({});
      const idle = await request(port, { agent: agent(), headers: AUTH });
      expect(idle).toMatchObject({ status: 200, body: 'ok' });
      const idleClosed = once(idle.socket, 'close');
      const slow = request(port, { path: '/slow', agent: agent(), headers: AUTH });
      await arrived.promise;
      const done = lameduck.shutdown();
      release.resolve();
      const reply = await slow;
      expect(reply).toMatchObject({ status: 200, body: 'slow done' });
      expect(reply.headers.connection).toBe('close');
      await idleClosed;
      expect(await done).toMatchObject({ graceful: true, forced: false, destroyedConnections: 0 });
    });

    test('readiness flips at once while traffic is still served; liveness stays 200; probes pass auth', async () => {
      const { port, lameduck } = await server({ readinessDelay: 2_000 });
      const ready = await request(port, { path: '/readyz' });
      expect(ready.status).toBe(200);
      expect(JSON.parse(ready.body)).toEqual({ status: 'ready' });
      expect(ready.headers['content-type']).toMatch(/^application\/json/);
      const done = lameduck.shutdown('SIGTERM');
      const unready = await request(port, { path: '/readyz' });
      expect(unready.status).toBe(503);
      expect(JSON.parse(unready.body)).toMatchObject({ status: 'shutting down', reason: 'SIGTERM' });
      expect(await request(port, { path: '/readyz', method: 'HEAD' })).toMatchObject({ status: 503, body: '' });
      expect((await request(port, { path: '/livez' })).status).toBe(200);
      const served = await request(port, { agent: agent(), headers: AUTH });
      expect(served).toMatchObject({ status: 200, body: 'ok' });
      expect(served.headers.connection).toBe('close');
      expect(lameduck.state).toBe('lameduck');
      expect(await done).toMatchObject({ graceful: true });
    });

    test('readinessDelay "auto": a prober seen before the signal holds the listener open until its 503', async () => {
      const { port, lameduck } = await server({ readinessDelay: 'auto', readinessFailures: 1, minReadinessDelay: 0 });
      const probe = () => request(port, { path: '/readyz', headers: { 'user-agent': 'conformance-prober' } });
      for (let count = 0; count < 3; count++) {
        expect((await probe()).status).toBe(200);
        // The prober's rhythm (every 100 ms), which lameduck learns; not a wait for anything.
        await setTimeout(100);
      }
      const done = lameduck.shutdown('SIGTERM');
      expect(lameduck.state).toBe('lameduck');
      expect(await request(port, { agent: agent(), headers: AUTH })).toMatchObject({ status: 200, body: 'ok' });
      expect((await probe()).status).toBe(503);
      const result = await done;
      expect(result).toMatchObject({ graceful: true });
      expect(result.durations.lameDuck).toBeGreaterThan(0);
    });

    test('readinessDelay "auto" with nobody probing: the listener closes at once', async () => {
      const { port, lameduck } = await server({ readinessDelay: 'auto', minReadinessDelay: 0 });
      await request(port, { agent: agent(), headers: AUTH });
      const done = lameduck.shutdown('SIGTERM');
      expect(lameduck.state).toBe('draining');
      expect(await done).toMatchObject({ graceful: true, durations: { lameDuck: 0 } });
    });

    test('after the listener closes: a request on a kept connection is served, its response closes the connection', async () => {
      const { port, lameduck } = await server({ idleGrace: 60_000, timeout: 70_000 });
      const kept = agent();
      const first = await request(port, { agent: kept, headers: AUTH });
      const closed = once(first.socket, 'close');
      const done = lameduck.shutdown();
      expect(lameduck.accepting).toBe(false);
      const late = request(port, { agent: kept, path: '/slow', headers: AUTH });
      // Today's 503 answers without running the handler: then the reply comes first.
      await Promise.race([arrived.promise, late]);
      release.resolve();
      const reply = await late;
      expect(reply).toMatchObject({ status: 200, body: 'slow done' });
      expect(reply.socket).toBe(first.socket);
      expect(reply.headers.connection).toBe('close');
      expect(reply.headers['retry-after']).toBeUndefined();
      await closed;
      expect(await done).toMatchObject({ graceful: true, requests: { completed: 1, rejected: 0 } });
    });

    test('in the last abortBefore before requests are forced: 503 with Connection: close and Retry-After, counted', async () => {
      const { port, lameduck } = await server(LAST_STRETCH);
      const kept = agent();
      await request(port, { agent: kept, headers: AUTH });
      const done = lameduck.shutdown();
      await lastStretch(lameduck);
      const late = await request(port, { agent: kept, path: '/slow', headers: AUTH });
      expect(late.status).toBe(503);
      expect(late.headers.connection).toBe('close');
      expect(late.headers['retry-after']).toBe('5');
      expect(JSON.parse(late.body)).toMatchObject({ status: 'shutting down' });
      expect(await done).toMatchObject({ graceful: true, requests: { rejected: 1 } });
    });

    test('an upload arriving in the last stretch gets its 503, not a reset', async () => {
      const size = 16 * 1024 * 1024;
      const { port, lameduck, server: httpServer } = await server({ ...LAST_STRETCH, discardLimit: size });
      // Attaches the server (Express and Koa find it with its first request); then out of the way.
      const warmUp = agent();
      await request(port, { agent: warmUp, headers: AUTH });
      warmUp.destroy();
      let done!: Promise<ShutdownResult>;
      const { received, error } = await uploadWhileClosing(
        port,
        httpServer,
        size,
        () => {
          done = lameduck.shutdown();
          return lastStretch(lameduck);
        },
        { headers: 'Authorization: yes\r\n' },
      );
      expect(error).toBeUndefined();
      expect(received).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
      expect(await done).toMatchObject({ graceful: true, requests: { rejected: 1 } });
    });

    // Before the lingering close: the socket closed with the upload's bytes unread, the kernel reset the
    // client's next bytes, and the client lost the 503 from its receive buffer (EPIPE/ECONNRESET).
    test('an upload beyond discardLimit in the last stretch: a client writing 50 MB without reading gets the whole 503', async () => {
      // idleGrace as by default: the lingering close is bounded by it (2 × 500 ms).
      const { port, lameduck, server: httpServer } = await server({ ...LAST_STRETCH, idleGrace: 500 });
      const warmUp = agent();
      await request(port, { agent: warmUp, headers: AUTH });
      warmUp.destroy();
      let done!: Promise<ShutdownResult>;
      const { received, error } = await uploadWhileClosing(
        port,
        httpServer,
        50 * 1024 * 1024,
        () => {
          done = lameduck.shutdown();
          return lastStretch(lameduck);
        },
        { headers: 'Authorization: yes\r\n' },
      );
      expect(error?.code).toBeUndefined();
      const [response, ...more] = parseResponses(received, [], true);
      expect(more).toEqual([]);
      expect(response).toMatchObject({ status: 503, headers: { connection: 'close', 'retry-after': '5' } });
      expect(JSON.parse(response!.body)).toMatchObject({ status: 'shutting down' });
      expect(await done).toMatchObject({ graceful: true, forced: false, requests: { rejected: 1 } });
    });

    // Issue 27: the app answers without reading the body (node:http's 200, a framework's 404) while it is
    // still arriving. Before the lingering close applied to every response closing its connection, the
    // connection closed with the body unread: the kernel reset the client, and one that writes its whole
    // body before reading lost the response itself (EPIPE).
    test('a 50 MB upload on a kept connection after the listener closed: its response then a clean end, read while or after writing', async () => {
      // The lingering close ends at 2 × idleGrace (core's linger.test.ts checks that bound), which here must not
      // race 50 MB through one test process: on a shared 2-core machine that took up to 4 s.
      const { port, lameduck, server: httpServer } = await server({ idleGrace: 10_000 });
      const slow = request(port, { path: '/slow', agent: agent(), headers: AUTH });
      await arrived.promise;
      // Both connections are kept (one request served) before the shutdown starts; then both upload.
      let done!: Promise<ShutdownResult>;
      let warming = 2;
      const bothKept = deferred();
      const startOnceBothKept = () => {
        if (--warming === 0) {
          done = lameduck.shutdown();
          expect(lameduck.accepting).toBe(false);
          bothKept.resolve();
        }
        return bothKept.promise;
      };
      const upload = (reading: boolean) =>
        uploadWhileClosing(port, httpServer, 50 * 1024 * 1024, startOnceBothKept, {
          headers: 'Authorization: yes\r\n',
          keptAlive: true,
          reading,
        });
      const clients = await Promise.all([upload(true), upload(false)]);
      // Each client: no socket error, and exactly one whole response, which closes the connection.
      const outcomes = clients.map(({ received, error }) => {
        const responses = parseResponses(received, [], true);
        return { error: error?.code, responses: responses.length, connection: responses[0]?.headers.connection };
      });
      const clean = { error: undefined, responses: 1, connection: 'close' };
      expect({ readingWhileWriting: outcomes[0], readingAfterWriting: outcomes[1] }).toEqual({
        readingWhileWriting: clean,
        readingAfterWriting: clean,
      });
      release.resolve();
      expect(await slow).toMatchObject({ status: 200, body: 'slow done' });
      expect(await done).toMatchObject({ graceful: true, forced: false, destroyedConnections: 0 });
    });

    test('a WebSocket gets 1001 "going away" when the drain starts; the drain ends once it has closed', async () => {
      const { port, lameduck } = await server({ timeout: 60_000 });
      await request(port, { headers: AUTH });
      const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: AUTH });
      await once(socket, 'message');
      expect(lameduck.stats().upgraded).toBe(1);
      const closed = once(socket, 'close');
      const result = await lameduck.shutdown();
      const [code, reason] = await closed;
      expect(code).toBe(1001);
      expect(String(reason)).toBe('server shutting down');
      expect(result).toMatchObject({ graceful: true, forced: false, stuckUpgrades: [] });
    });

    test('a server-sent event stream gets its final event and a clean end when the drain starts', async () => {
      const { port, lameduck } = await server({ timeout: 60_000 });
      const first = deferred();
      const stream = new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port, path: '/events', headers: AUTH, agent: agent() }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
            first.resolve();
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          res.on('error', reject);
        });
        req.on('error', reject);
      });
      await first.promise;
      const result = await lameduck.shutdown();
      expect(await stream).toEqual({
        status: 200,
        text: 'data: first\n\nevent: bye\ndata: server shutting down\n\n',
      });
      expect(result).toMatchObject({ graceful: true, forced: false });
    });

    test('with a short timeout, deadlineSignal leaves the drain window to requests that finish in it', async () => {
      // timeout 1000, no readiness delay: cleanupReserve 200 and abortBefore 160 (a fifth of the 800 ms window).
      const { port, lameduck } = await server({ timeout: 1_000 });
      const reply = request(port, { path: '/slow', agent: agent(), headers: AUTH });
      await arrived.promise;
      // The handler's remaining work: 100 ms from the drain start, well inside the window.
      lameduck.drainSignal.addEventListener('abort', () => void setTimeout(100).then(() => release.resolve()), {
        once: true,
      });
      const result = await lameduck.shutdown();
      expect(await reply).toMatchObject({ status: 200, body: 'slow done' });
      expect(result).toMatchObject({ graceful: true, forced: false });
      expect(lameduck.deadlineSignal.aborted).toBe(false);
    });

    test('the deadline destroys a request that never finishes and reports it', async () => {
      const { port, lameduck } = await server({ timeout: 800, cleanupReserve: 300 });
      await request(port, { headers: AUTH });
      const hung = request(port, { path: '/slow?never', agent: agent(), headers: AUTH }).catch(
        (error: NodeJS.ErrnoException) => error,
      );
      await arrived.promise;
      const result = await lameduck.shutdown();
      expect(result).toMatchObject({ forced: true, graceful: false, exitCode: 1 });
      expect(result.stuckRequests).toEqual([
        { method: 'GET', url: '/slow?never', age: expect.any(Number), olderThanShutdown: true },
      ]);
      expect(((await hung) as NodeJS.ErrnoException).code).toBe('ECONNRESET');
    });
  });
  availability(kind);
}
