/** Human lines: what a person at a terminal reads, checked on the renderer and through a real pseudo-terminal. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { humanDuration, humanLine, MESSAGES } from '../src/human.js';

describe('human lines', () => {
  test('the start line says what the shutdown waits for, and how to force it', () => {
    const start = { reason: 'SIGINT', inflight: 2, tasks: 0, timeout: 20_000 };
    expect(humanLine('info', { ...start, lameDuckMode: 'no probers' }, MESSAGES.started)).toBe(
      'lameduck: shutting down (SIGINT); waiting for 2 requests (up to 20 s); press Ctrl+C again to force',
    );
    expect(
      humanLine(
        'info',
        { ...start, inflight: 0, lameDuckMode: 'probers', probers: [{ id: 'a' }, { id: 'b' }], lameDuckMax: 15_000 },
        MESSAGES.started,
      ),
    ).toBe(
      'lameduck: shutting down (SIGINT); letting 2 readiness probers see it first (up to 15 s); nothing in flight; press Ctrl+C again to force',
    );
    expect(
      humanLine(
        'info',
        { ...start, reason: 'deploy', inflight: 1, lameDuckMode: 'fixed', readinessDelay: 5_000 },
        MESSAGES.started,
      ),
    ).toBe('lameduck: shutting down (deploy); failing readiness for 5 s first; waiting for 1 request (up to 20 s)');
    expect(
      humanLine(
        'info',
        { ...start, inflight: 0, lameDuckMode: 'platform minimum', lameDuckMin: 5_000 },
        MESSAGES.started,
      ),
    ).toBe(
      'lameduck: shutting down (SIGINT); waiting 5 s for the platform to route away first; nothing in flight; press Ctrl+C again to force',
    );
  });

  test('progress, the end, a forced end, warnings and errors', () => {
    expect(humanLine('info', { inflight: 1, connections: 3, tasks: 0, secondsLeft: 18 }, MESSAGES.draining)).toBe(
      'lameduck: waiting for 1 request, 3 connections (18 s left)',
    );
    expect(humanLine('info', { graceful: true, durations: { total: 12 } }, MESSAGES.complete)).toBe(
      'lameduck: shut down in 12 ms',
    );
    expect(
      humanLine(
        'warn',
        { graceful: false, forced: true, stuckRequests: 2, hookFailures: ['db'], durations: { total: 20_010 } },
        MESSAGES.complete,
      ),
    ).toBe('lameduck: warning: shut down in 20 s, forced at the deadline: 2 requests cut off, cleanup failed: db');
    expect(humanLine('error', { signal: 'SIGINT', inflight: 1 }, MESSAGES.secondSignal)).toBe(
      'lameduck: error: second SIGINT: exiting now, 1 request cut off',
    );
    expect(humanLine('error', { hook: 'db', err: new Error('pool gone') }, 'cleanup hook failed')).toBe(
      'lameduck: error: cleanup hook failed: pool gone',
    );
    // The listener closing is a step for machines reading JSON; the start line already told the person.
    expect(humanLine('info', { inflight: 1, connections: 3, tasks: 0 }, MESSAGES.listenerClosed)).toBeUndefined();
    expect(humanDuration(12_540)).toBe('12.5 s');
  });

  test('on a real terminal with default options, Ctrl+C gets human lines and exit code 0', async () => {
    // util-linux `script` runs the fixture on a pseudo-terminal; writing ^C to it is a real Ctrl+C: the
    // terminal sends SIGINT to the foreground process group, as when a person presses it.
    const fixture = join(__dirname, 'fixtures', 'server.ts');
    // `script` runs the command through $SHELL -c. dash (Debian's /bin/sh) stays as the parent in the
    // foreground group, gets the SIGINT too and re-raises it once node exits (exit 130); bash execs the
    // last command. `exec` makes node the only process on the terminal, as under an interactive shell,
    // and SHELL is pinned so the test runs the same on every machine.
    const command = `exec ${process.execPath} --conditions=@lameduck/source --import tsx ${fixture}`;
    const terminal = spawn('script', ['-qfec', command, '/dev/null'], {
      env: { ...process.env, SHELL: '/bin/sh', LAMEDUCK_OPTIONS: '{}' }, // every option at its default
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let output = '';
    const exited = new Promise<number | null>((resolve) => terminal.on('close', resolve));
    await new Promise<void>((resolve) =>
      terminal.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('"event":"listening"')) resolve();
      }),
    );
    terminal.stdin.end('\x03');
    expect(await exited).toBe(0);
    const lines = output.split('\r\n').filter((line) => line.startsWith('lameduck:'));
    expect(lines).toEqual([
      'lameduck: shutting down (SIGINT); nothing in flight; press Ctrl+C again to force',
      expect.stringMatching(/^lameduck: shut down in [\d.]+ m?s$/),
    ]);
    expect(output).not.toContain('"name":"lameduck"');
  });
});
