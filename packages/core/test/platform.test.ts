/** Platform facts and the warnings they lead to: what the process can see, stated by each test. */
import { detectPlatform, KUBERNETES_MINIMUM, platformMinimum, platformWarnings } from '../src/platform.js';

const ENTRY = ['/usr/bin/node', '/srv/app/server.js'];
const facts = (env: NodeJS.ProcessEnv, pid = 4242) => detectPlatform(env, pid, ENTRY);
const messages = (env: NodeJS.ProcessEnv, timeout = 25_000, pid = 4242) =>
  platformWarnings(facts(env, pid), timeout).map((warning) => warning.message);

describe('platform facts', () => {
  test('a laptop: nothing to say, no minimum', () => {
    expect(facts({ HOME: '/home/me' })).toEqual({
      kubernetes: false,
      pm2: undefined,
      pid1: false,
      scriptRunner: undefined,
    });
    expect(messages({})).toEqual([]);
    expect(platformMinimum(facts({}))).toBe(0);
  });

  test('Kubernetes: the kubelet sets KUBERNETES_SERVICE_HOST; a minimum lame-duck phase', () => {
    const pod = facts({ KUBERNETES_SERVICE_HOST: '10.96.0.1' });
    expect(pod.kubernetes).toBe(true);
    expect(platformMinimum(pod)).toBe(KUBERNETES_MINIMUM);
    expect(messages({ KUBERNETES_SERVICE_HOST: '10.96.0.1' })).toEqual([]);
    expect(messages({ KUBERNETES_SERVICE_HOST: '10.96.0.1' }, 45_000)).toEqual([
      "timeout (45000 ms) is longer than Kubernetes' default grace period (30000 ms): set terminationGracePeriodSeconds above it",
    ]);
  });

  test("PM2: its kill_timeout (1600 ms unless set) against lameduck's timeout", () => {
    expect(messages({ pm_id: '0' })).toEqual([
      "PM2 kills the process 1600 ms after its signal, before lameduck's timeout (25000 ms): set kill_timeout above it",
    ]);
    expect(messages({ PM2_HOME: '/root/.pm2', kill_timeout: '30000' })).toEqual([]);
  });

  test('PID 1 without an init', () => {
    expect(messages({}, 25_000, 1)).toEqual([expect.stringMatching(/^running as PID 1: .*docker run --init/)]);
  });

  test('npm and pnpm scripts that run this file; not their descendants (a test runner’s children)', () => {
    const pnpm = {
      npm_lifecycle_event: 'start',
      npm_lifecycle_script: 'node server.js',
      npm_execpath: '/usr/lib/node_modules/pnpm/bin/pnpm.cjs',
    };
    expect(facts(pnpm).scriptRunner).toBe('pnpm');
    expect(messages(pnpm)).toEqual([
      expect.stringMatching(
        /^started by pnpm, which does not forward SIGTERM to this process and on Ctrl\+C exits 130/,
      ),
    ]);
    expect(facts({ ...pnpm, npm_execpath: '/usr/lib/node_modules/npm/bin/npm-cli.js' }).scriptRunner).toBe('npm');
    expect(facts({ ...pnpm, npm_lifecycle_script: 'jest' }).scriptRunner).toBeUndefined();
  });

  test('a timeout over 30 s is named outside Kubernetes too: most platforms wait less', () => {
    expect(messages({}, 60_000)).toEqual([expect.stringMatching(/longer than Kubernetes' default grace period/)]);
    expect(messages({}, 30_000)).toEqual([]);
  });
});
