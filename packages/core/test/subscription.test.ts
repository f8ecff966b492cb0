/** The `http.server.request.start` subscription lives no longer than the servers it serves (issue 8, item 4b). */
import type { Child, Line } from '@lameduck/test-utils';
import { spawnFixture } from './helpers.js';

/**
 * Each scenario runs in its own process: `hasSubscribers` is process-wide, and a manager leaked by
 * another test would show here. Steps between `start` and `end` are reported but not asserted, so the
 * test holds whether the core subscribes at attach() or only while draining.
 */
async function steps(scenario: string): Promise<Record<string, boolean>> {
  const child: Child = spawnFixture('subscription', { SCENARIO: scenario });
  const { code } = await child.exited;
  expect({ code, stderr: child.output.stderr }).toEqual({ code: 0, stderr: [] });
  return Object.fromEntries(
    child.events.filter((line: Line) => line.event === 'step').map((line) => [line.step, line.subscribed as boolean]),
  );
}

test('controls: the channel shows a subscriber while there is one; a manager that shut down is not subscribed', async () => {
  expect(await steps('observer,shut down')).toMatchObject({
    start: false,
    subscribed: true,
    unsubscribed: false,
    end: false,
  });
});

// Before the fix: the subscription starts at attach() and ends only with a full shutdown.
test('a manager detached from every server it was attached to is not subscribed', async () => {
  expect(await steps('detached')).toMatchObject({ start: false, end: false });
});

// Before the fix: as above; the manager stays subscribed to every request in the process after its server closed.
test('a manager never shut down, whose servers have all closed, is not subscribed', async () => {
  expect(await steps('servers closed')).toMatchObject({ start: false, end: false });
});
