/**
 * A real Nest app in a child process, a real SIGTERM, on both platforms: nestjs/nest#11416 as its
 * author describes it (requests started before the signal fail with Nest's own enableShutdownHooks),
 * and with the module the order the README promises (last response, then Nest's hooks, then exit).
 */
import http from 'node:http';
import { join } from 'node:path';
import { hrNow, request, spawnChild, stopChild, type Child, type Line } from '@lameduck/test-utils';

const PACKAGE = join(__dirname, '..');
const FIXTURE = join(__dirname, 'fixtures', 'app.ts');
/** Nest 11 is this package's own dev dependency; Nest 12 is installed apart, and the hook resolves it. */
const NEST_VERSIONS: { nest: number; env: Record<string, string> }[] = [
  { nest: 11, env: {} },
  { nest: 12, env: { NEST_FROM: join(__dirname, 'nest-12') } },
];
const VERSION_HOOK = join(__dirname, 'fixtures', 'nest-version.mjs');
const CASES = NEST_VERSIONS.flatMap((version) => ['express', 'fastify'].map((platform) => ({ ...version, platform })));
const IN_FLIGHT = 3;
const TIMEOUT = 10_000;

const children: Child[] = [];
const agents: http.Agent[] = [];
afterEach(async () => {
  for (const agent of agents.splice(0)) agent.destroy();
  for (const child of children.splice(0)) await stopChild(child);
});

/** Runs the fixture from sources; tsx reads this package's tsconfig (experimentalDecorators). */
async function run(env: Record<string, string>): Promise<{ child: Child; port: number }> {
  const child = spawnChild(['--conditions=@lameduck/source', '--import', 'tsx', '--import', VERSION_HOOK, FIXTURE], {
    cwd: PACKAGE,
    env: { TIMEOUT: String(TIMEOUT), ...env },
    clock: hrNow,
  });
  children.push(child);
  const listening = await child.event((line) => line.event === 'listening');
  expect(listening.nest).toMatch(env.NEST_FROM === undefined ? /^11\./ : /^12\./);
  return { child, port: listening.port as number };
}

/** `IN_FLIGHT` requests to /slow, each on its own kept-alive socket, all arrived in the app; then the signal. */
async function inFlightThenSignal(child: Child, port: number, signal: NodeJS.Signals = 'SIGTERM') {
  const agent = new http.Agent({ keepAlive: true });
  agents.push(agent);
  const replies = Array.from({ length: IN_FLIGHT }, () =>
    request(port, { path: '/slow', agent }).then(
      (reply) => ({ status: reply.status, body: reply.body }),
      (error: NodeJS.ErrnoException) => ({ status: 0, body: error.code ?? error.message }),
    ),
  );
  let arrived = 0;
  await child.event((line) => line.event === 'arrived' && ++arrived === IN_FLIGHT);
  const signalAt = child.kill(signal);
  return { replies: await Promise.all(replies), signalAt };
}

const at = (events: Line[], name: string): number[] =>
  events.filter((line) => line.event === name).map((line) => line.at as number);

describe.each(CASES)('Nest $nest on platform-$platform, a real SIGTERM', ({ nest, platform, env }) => {
  test('nestjs/nest#11416 without the module: enableShutdownHooks() runs the hooks under requests started before the signal, and they fail', async () => {
    const { child, port } = await run({ ...env, PLATFORM: platform, SHUTDOWN_HOOKS: '1' });
    const { replies } = await inFlightThenSignal(child, port);
    // Nest closed the pool while the requests were in flight: every one of them failed.
    expect(replies.map((reply) => reply.status)).toEqual(Array(IN_FLIGHT).fill(500));
    const [destroyed] = at(child.events, 'onModuleDestroy');
    expect(Math.min(...at(child.events, 'response'))).toBeGreaterThan(destroyed!);
    // (Its exit then waits out the keep-alive timeout, nestjs/nest#7611: 5 s on Express, 72 s on Fastify.)
  });

  test('with the module (and enableShutdownHooks() left in): requests finish, then Nest’s hooks run, then the process exits 0 within the deadline', async () => {
    const { child, port } = await run({ ...env, PLATFORM: platform, SHUTDOWN_HOOKS: '1', LAMEDUCK: '1' });
    const { replies, signalAt } = await inFlightThenSignal(child, port);
    expect(replies).toEqual(Array(IN_FLIGHT).fill({ status: 200, body: 'slow done' }));
    const exit = await child.timedExit;
    expect(exit).toMatchObject({ code: 0, signal: null });
    const lastResponse = Math.max(...at(child.events, 'response'));
    const [destroyed] = at(child.events, 'onModuleDestroy');
    const [before] = at(child.events, 'beforeApplicationShutdown');
    const [shutdown] = at(child.events, 'onApplicationShutdown');
    expect(destroyed).toBeGreaterThan(lastResponse);
    expect(before).toBeGreaterThan(destroyed!);
    expect(shutdown).toBeGreaterThan(before!);
    // Each hook ran once, from lameduck's app.close() (Nest's own signal listener passes the signal):
    // that listener was removed, so it neither closed the app early nor re-sent the signal.
    expect(at(child.events, 'onApplicationShutdown')).toHaveLength(1);
    expect(child.events.find((line) => line.event === 'onApplicationShutdown')).not.toHaveProperty('signal');
    expect(exit.at - signalAt).toBeLessThan(TIMEOUT);
    await child.exited;
  });

  test('a programmatic app.close() (handleSignals: false) drains first, then runs Nest’s hooks', async () => {
    const { child, port } = await run({ ...env, PLATFORM: platform, LAMEDUCK: '1', HANDLE_SIGNALS: '0' });
    const { replies } = await inFlightThenSignal(child, port, 'SIGUSR2');
    expect(replies).toEqual(Array(IN_FLIGHT).fill({ status: 200, body: 'slow done' }));
    expect(await child.exited).toEqual({ code: 0, signal: null });
    const [destroyed] = at(child.events, 'onModuleDestroy');
    expect(destroyed).toBeGreaterThan(Math.max(...at(child.events, 'response')));
  });

  test('handleSignals: false with Nest’s own enableShutdownHooks(): Nest 12 drains first (its signal runs shutdown()); Nest 11 does not', async () => {
    const { child, port } = await run({
      ...env,
      PLATFORM: platform,
      LAMEDUCK: '1',
      HANDLE_SIGNALS: '0',
      SHUTDOWN_HOOKS: '1',
    });
    const { replies } = await inFlightThenSignal(child, port);
    // Nest 11's signal listener calls the hooks itself, past app.close(): the module cannot go first.
    const expected = nest === 12 ? { status: 200, body: 'slow done' } : expect.objectContaining({ status: 500 });
    expect(replies).toEqual(Array(IN_FLIGHT).fill(expected));
  });
});
