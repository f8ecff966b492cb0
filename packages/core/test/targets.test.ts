/** Drain targets: a server that is not node:http, drained under the same phases, deadline and result. */
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { createLameduck, DRAINABLE, type DrainTarget, type Drainable, type TargetManager } from '@lameduck/core';
import { deferred, listen, request } from '@lameduck/test-utils';

const quick = { silent: true, readinessDelay: 0 } as const;

/**
 * A line server: each line is a call answered after `delay` ms (a line "hang" is never answered).
 * Its drain target stops listening at the drain, answers "busy" (through `manager.reject()`) in the
 * drain's last stretch, and destroys its sockets at the deadline.
 */
function lineServer(delay: number): {
  server: net.Server;
  drainable: Drainable;
  calls: Set<string>;
  lameDucked: () => number;
} {
  const calls = new Set<string>();
  const sockets = new Set<net.Socket>();
  let settled: (() => void) | undefined;
  const ended = (call: string): void => {
    calls.delete(call);
    if (calls.size === 0) settled?.();
  };
  let completed = 0;
  let manager: TargetManager | undefined;
  let lameDucked = 0;
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.setEncoding('utf8');
    socket.on('data', (line: string) => {
      const call = line.trim();
      if (manager?.deadlineSignal.aborted) {
        socket.end(`${manager.reject().status}\n`);
        return;
      }
      calls.add(call);
      server.emit('call', call);
      if (call === 'hang') return;
      setTimeout(() => {
        ended(call);
        if (manager?.state !== 'serving') completed += 1;
        socket.write(`done ${call}\n`);
      }, delay).unref();
    });
  });
  const drainable: Drainable = {
    [DRAINABLE](attachedTo): DrainTarget {
      manager = attachedTo;
      const target: DrainTarget = {
        lameDuck: () => void (lameDucked += 1),
        async drain() {
          server.close();
          if (calls.size > 0) await new Promise<void>((resolve) => (settled = resolve));
          for (const socket of sockets) socket.end();
        },
        force() {
          const stuck = [...calls].map((call) => ({ method: 'LINE', url: call, age: 0 }));
          const destroyed = sockets.size;
          for (const socket of sockets) socket.destroy();
          calls.clear();
          return { stuck, destroyed };
        },
        inflightCount: () => calls.size,
        connectionCount: () => sockets.size,
        counts: () => ({ completed, lost: 0 }),
      };
      return target;
    },
  };
  return { server, drainable, calls, lameDucked: () => lameDucked };
}

async function connect(server: net.Server): Promise<net.Socket> {
  const { port } = server.address() as net.AddressInfo;
  const socket = net.connect(port, '127.0.0.1');
  socket.setEncoding('utf8');
  await once(socket, 'connect');
  return socket;
}

const nextLine = (socket: net.Socket): Promise<string> =>
  new Promise((resolve) => socket.once('data', (chunk: string) => resolve(chunk.trim())));

describe('drain targets', () => {
  test('a target beside an http server: one lame-duck phase, one drain, counts summed, graceful', async () => {
    const lameduck = createLameduck(quick);
    const httpServer = http.createServer((req, res) => {
      if (lameduck.handle(req, res)) return;
      res.end('ok');
    });
    const line = lineServer(150);
    lameduck.attach(httpServer).attach(line.drainable);
    const port = await listen(httpServer);
    await new Promise<void>((resolve) => line.server.listen(0, '127.0.0.1', resolve));
    expect(lameduck.stats().servers).toBe(2);

    const client = await connect(line.server);
    client.write('a\n');
    const answered = nextLine(client);
    const ended = once(client, 'end');
    await once(line.server, 'call');
    const result = await lameduck.shutdown();
    expect(await answered).toBe('done a');
    await ended;
    expect(result).toMatchObject({ graceful: true, exitCode: 0, requests: { completed: 1, lost: 0 } });
    expect(line.lameDucked()).toBe(1);
    expect(line.server.listening).toBe(false);
    expect(httpServer.listening).toBe(false);
    await expect(request(port)).rejects.toThrow();
  });

  test('what a target still holds at the deadline is forced and named in the result', async () => {
    const lameduck = createLameduck({ ...quick, timeout: 600, cleanupReserve: 100, abortBefore: 100 });
    const line = lineServer(10);
    lameduck.attach(line.drainable);
    await new Promise<void>((resolve) => line.server.listen(0, '127.0.0.1', resolve));
    const client = await connect(line.server);
    client.write('hang\n');
    const closed = once(client, 'close');
    await once(line.server, 'call');
    expect(lameduck.stats().inflight).toBe(1);
    const result = await lameduck.shutdown();
    await closed;
    expect(result).toMatchObject({ graceful: false, forced: true, exitCode: 1, destroyedConnections: 1 });
    expect(result.stuckRequests).toEqual([{ method: 'LINE', url: 'hang', age: 0 }]);
  });

  test('a call in the last stretch is refused through manager.reject(), counted once', async () => {
    const lameduck = createLameduck({ ...quick, timeout: 800, cleanupReserve: 100, abortBefore: 300 });
    const line = lineServer(10);
    lameduck.attach(line.drainable);
    await new Promise<void>((resolve) => line.server.listen(0, '127.0.0.1', resolve));
    const holder = await connect(line.server);
    holder.write('hang\n');
    await once(line.server, 'call');
    const late = await connect(line.server);
    const nearDeadline = deferred<void>();
    lameduck.deadlineSignal.addEventListener('abort', () => nearDeadline.resolve());
    const result = lameduck.shutdown();
    await nearDeadline.promise;
    late.write('late\n');
    expect(await nextLine(late)).toBe('503');
    expect((await result).requests.rejected).toBe(1);
  });

  test('attached while draining, a target catches up: lame duck, then drain', async () => {
    const lameduck = createLameduck({ ...quick, timeout: 2_000 });
    const arrived = deferred<void>();
    const holder = http.createServer((req, res) => {
      arrived.resolve();
      setTimeout(() => res.end('late'), 200).unref();
    });
    lameduck.attach(holder);
    const port = await listen(holder);
    const slow = request(port);
    await arrived.promise;
    const draining = deferred<void>();
    lameduck.onStateChange((state) => state === 'draining' && draining.resolve());
    const result = lameduck.shutdown();
    await draining.promise;
    const line = lineServer(10);
    await new Promise<void>((resolve) => line.server.listen(0, '127.0.0.1', resolve));
    lameduck.attach(line.drainable);
    expect(line.lameDucked()).toBe(1);
    expect(line.server.listening).toBe(false);
    await slow;
    expect((await result).graceful).toBe(true);
  });

  test('an object whose [DRAINABLE]() returns no target is refused with a coded error', () => {
    const lameduck = createLameduck(quick);
    const broken = { [DRAINABLE]: () => undefined } as unknown as Drainable;
    expect(() => lameduck.attach(broken)).toThrow(expect.objectContaining({ code: 'LAMEDUCK_INVALID_ARGUMENT' }));
  });
});
