/** End to end behind a real HAProxy: rolling restarts of examples/express with default options lose nothing. */
import { CHECKS, haproxyVersion } from '../src/haproxy.js';
import { exampleTarget, textbookTarget } from '../src/instance.js';
import { rollingRestart, type RolloutResult } from '../src/rollout.js';

const compared: RolloutResult[] = [];

beforeAll(async () => {
  // CI installs it (.ci/run); without it this check must fail, not pass unnoticed.
  if ((await haproxyVersion()) === undefined) throw new Error('HAProxy is not installed: apt-get install -y haproxy');
});

afterAll(() => {
  const rows = compared.map(
    (result) =>
      `${result.check.padEnd(6)} ${result.target.padEnd(24)} ${String(result.load.failed).padStart(4)} failed of ${result.load.sent}` +
      `  exits ${result.exits.join(',')}  lame duck ${result.lameDuck.join('/') || '-'} ms  ${JSON.stringify(result.haproxy)}`,
  );
  console.log(`Rolling restarts behind HAProxy (the textbook is reported, not asserted):\n${rows.join('\n')}`);
});

describe.each(CHECKS)('behind HAProxy, $name checks (inter $inter ms, fall $fall, rise $rise)', (check) => {
  test('every instance of examples/express restarted in turn under keep-alive load: 0 failed, every exit 0', async () => {
    const result = await rollingRestart(exampleTarget('express'), check);
    compared.push(result);
    // The load ran across all three restarts.
    expect(result.load.sent).toBeGreaterThan(1_000);
    expect(result.load.failures).toEqual({});
    expect(result.load.ok).toBe(result.load.sent);
    expect(result.haproxy).toEqual({});
    expect(result.exits).toEqual([0, 0, 0]);
  }, 150_000);

  test('the same with the textbook server.close(), for comparison', async () => {
    const result = await rollingRestart(textbookTarget(), check);
    compared.push(result);
    expect(result.load.sent).toBeGreaterThan(100);
    expect(result.exits).toHaveLength(3);
  }, 150_000);
});
