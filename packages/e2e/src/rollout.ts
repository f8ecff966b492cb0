/** A rolling restart behind HAProxy: every instance replaced in turn, under keep-alive load, and what clients saw. */
import { startHaproxy, type CheckSettings } from './haproxy.js';
import { startInstance, type Instance, type Target } from './instance.js';
import { startLoad, type LoadReport } from './load.js';

/** What one rolling restart did. */
export interface RolloutResult {
  target: string;
  check: string;
  /** The client side: requests sent, answered 200, failed (by cause). */
  load: LoadReport;
  /** The exit code (or signal) of every instance that was restarted, in order. */
  exits: (number | string)[];
  /** The lame-duck phase of each restarted instance in ms, from its `shutdown complete` log line (lameduck only). */
  lameDuck: number[];
  /** Why each restarted instance's lame-duck phase lasted what it did, from its start line (lameduck only). */
  modes: string[];
  /** The probers each restarted instance waited for (address and interval in ms), from its start line. */
  probers: unknown[];
  /** HAProxy's termination states of the requests it did not answer 200 (`SC--`: connection refused…). */
  haproxy: Record<string, number>;
  /** Seconds the whole run took. */
  seconds: number;
}

/** Tallies the termination state of every non-200 line of HAProxy's log (`option httplog` format). */
function terminationStates(lines: readonly string[]): Record<string, number> {
  const states: Record<string, number> = {};
  for (const line of lines) {
    // … <status> <bytes> <req cookie> <res cookie> <termination state> <conns> <queues> "<request>"
    const match = / (\d{3}) \d+ \S+ \S+ (\S{4}) \d+\/\d+\/\d+\/\d+\/\d+ \d+\/\d+ "/.exec(line);
    if (match === null || match[1] === '200') continue;
    const key = `${match[1]} ${match[2]}`;
    states[key] = (states[key] ?? 0) + 1;
  }
  return states;
}

function describeExit(exit: { code: number | null; signal: NodeJS.Signals | null }): number | string {
  return exit.code ?? exit.signal ?? 'unknown';
}

/**
 * Runs `instances` instances of `target` behind HAProxy with `check`, puts keep-alive load through it,
 * then replaces each instance in turn as an orchestrator would: start the new one, wait until HAProxy
 * routes to it, SIGTERM the old one, wait for its exit and for HAProxy to mark it down, take it out.
 */
export async function rollingRestart(target: Target, check: CheckSettings, instances = 3): Promise<RolloutResult> {
  const started = performance.now();
  // One spare slot: the replacement goes there, and the old instance's slot becomes the spare.
  const haproxy = await startHaproxy(check, target.checkPath, instances + 1);
  const running = new Map<number, Instance>();
  const exits: (number | string)[] = [];
  const lameDuck: number[] = [];
  const modes: string[] = [];
  const probers: unknown[] = [];
  let load: LoadReport | undefined;
  try {
    for (let slot = 1; slot <= instances; slot++) {
      const instance = await startInstance(target);
      running.set(slot, instance);
      await haproxy.enable(slot, instance.port);
    }
    for (let slot = 1; slot <= instances; slot++) await haproxy.waitFor(slot, (status) => status === 'UP');
    const traffic = startLoad(haproxy.port);
    // The instances have served long enough for HAProxy to have checked each a few times, as in any
    // deployment that is not brand new: the lame-duck phase has probes to learn from.
    await new Promise((resolve) => setTimeout(resolve, 3 * check.inter));
    let spare = instances + 1;
    for (const [slot, old] of [...running]) {
      const replacement = await startInstance(target);
      await haproxy.enable(spare, replacement.port);
      await haproxy.waitFor(spare, (status) => status === 'UP');
      running.set(spare, replacement);
      running.delete(slot);
      old.kill('SIGTERM');
      exits.push(describeExit(await old.exited));
      const complete = old.logs.find((line) => line.msg === 'shutdown complete');
      const durations = complete?.durations as { lameDuck?: number } | undefined;
      if (durations?.lameDuck !== undefined) lameDuck.push(durations.lameDuck);
      const start = old.logs.find((line) => typeof line.msg === 'string' && line.msg.startsWith('shutdown started'));
      if (start !== undefined) {
        modes.push(String(start.lameDuckMode));
        probers.push(start.probers);
      }
      // Until HAProxy marks it down it may send it requests (refused once it has exited): they count.
      await haproxy.waitFor(slot, (status) => status === 'DOWN' || status.startsWith('DOWN'));
      await haproxy.disable(slot);
      spare = slot;
    }
    load = await traffic.stop();
  } finally {
    // Out of HAProxy first (no traffic, no checks), then stopped; their exits are not part of the run.
    for (const slot of running.keys()) await haproxy.disable(slot).catch(() => undefined);
    for (const instance of running.values()) instance.kill('SIGTERM');
    await Promise.all([...running.values()].map((instance) => instance.exited));
    await haproxy.stop();
  }
  return {
    target: target.name,
    check: check.name,
    load,
    exits,
    lameDuck,
    modes,
    probers,
    haproxy: terminationStates(haproxy.requestLog),
    seconds: Math.round((performance.now() - started) / 100) / 10,
  };
}
