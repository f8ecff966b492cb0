/** `lameduck.fetch()` on Bun's and Deno's own servers, in a real child process with real signals. */
import http from 'node:http';
import { join } from 'node:path';
import {
  request,
  runtimeBinary,
  spawnChild,
  stopChild,
  type Child,
  type Line,
  type Runtime,
} from '@lameduck/test-utils';

const FIXTURE = join(__dirname, 'fixtures', 'fetch-server.ts');
const children: Child[] = [];
const agents: http.Agent[] = [];

afterEach(async () => {
  for (const agent of agents.splice(0)) agent.destroy();
  for (const child of children.splice(0)) await stopChild(child);
});

/** The fixture on `runtime`, from core's TypeScript sources. */
function start(runtime: Runtime, env: Record<string, string>): Child {
  const args =
    runtime === 'bun'
      ? ['--conditions=@lameduck/source', FIXTURE]
      : ['run', '--allow-net', '--allow-env', '--sloppy-imports', '--conditions=@lameduck/source', FIXTURE];
  const child = spawnChild(args, { command: runtimeBinary(runtime), cwd: join(__dirname, '..'), env });
  children.push(child);
  return child;
}

const message = (text: string) => (line: Line) => line.msg === text;
const requested = (path: string) => (line: Line) => line.event === 'request' && line.path === path;

describe.each<Runtime>(['bun', 'deno'])('lameduck.fetch() on %s', (runtime) => {
  test('probes are answered by lameduck; in the lame-duck phase responses close their connection; exit 0', async () => {
    const child = start(runtime, { READINESS_DELAY_MS: '400' });
    const { port, servers } = await child.event((line) => line.event === 'listening');
    expect(servers).toBe(1);
    expect(await request(port as number, { path: '/readyz', agent: false })).toMatchObject({ status: 200 });
    // Kept alive: a client's own `Connection: close` would be echoed (Deno does).
    const agent = new http.Agent({ keepAlive: true });
    agents.push(agent);
    const before = await request(port as number, { path: '/', agent });
    expect(before.headers.connection).not.toBe('close');

    const slow = request(port as number, { path: '/slow?ms=300', agent: false });
    await child.event(requested('/slow'));
    child.kill('SIGTERM');
    await child.log(message('shutdown started: readiness fails now'));
    expect(await request(port as number, { path: '/readyz', agent: false })).toMatchObject({ status: 503 });
    expect(await request(port as number, { path: '/livez', agent: false })).toMatchObject({ status: 200 });
    const during = await request(port as number, { path: '/', agent });
    expect(during).toMatchObject({ status: 200, body: 'done after 0 ms\n' });
    expect(during.headers.connection).toBe('close');
    expect(await slow).toMatchObject({ status: 200, body: 'done after 300 ms\n' });
    expect(await child.exited).toEqual({ code: 0, signal: null });
    expect(await child.log(message('shutdown complete'))).toMatchObject({
      graceful: true,
      requests: { completed: 2, rejected: 0, lost: 0 },
    });
  });

  test('a handler that never answers is forced at the deadline and named; exit 1', async () => {
    const child = start(runtime, { SHUTDOWN_TIMEOUT_MS: '1500' });
    const { port } = await child.event((line) => line.event === 'listening');
    const hung = request(port as number, { path: '/hang?for=ever', agent: false }).catch((error: Error) => error);
    await child.event(requested('/hang'));
    const signalled = performance.now();
    child.kill('SIGTERM');
    expect(await child.exited).toEqual({ code: 1, signal: null });
    expect(performance.now() - signalled).toBeLessThan(1_500 + 1_000);
    expect(await child.log(message('request forced at the deadline'))).toMatchObject({
      method: 'GET',
      url: '/hang?for=ever',
    });
    expect(await child.log(message('shutdown complete'))).toMatchObject({ graceful: false, forced: true, exitCode: 1 });
    expect(await hung).toMatchObject({ message: expect.stringMatching(/socket hang up|ECONNRESET/) });
  });
});
