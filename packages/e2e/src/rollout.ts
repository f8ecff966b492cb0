/** A rolling restart behind a load balancer: every instance replaced in turn, under keep-alive load, and what clients saw. */
import type { Balancer } from './balancer.js';
import { startInstance, type Instance, type Target } from './instance.js';
import { startLoad, type LoadReport } from './load.js';

/** What one rolling restart did. */
export interface RolloutResult {
  target: string;
  /** The balancer and its settings: `haproxy fast`, `haproxy common`, `nginx`. */
  balancer: string;
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
  /** What the balancer logged of the requests it did not answer 200 (HAProxy: `503 SC--`…). */
  balancerFailures: Record<string, number>;
  /** Seconds the whole run took. */
  seconds: number;
}

function describeExit(exit: { code: number | null; signal: NodeJS.Signals | null }): number | string {
  return exit.code ?? exit.signal ?? 'unknown';
}

/** What a restarted instance said about its lame-duck phase. */
function lameDuckOf(instance: Instance): { ms?: number; mode?: string; probers?: unknown } {
  const complete = instance.logs.find((line) => line.msg === 'shutdown complete');
  const start = instance.logs.find((line) => line.msg === 'shutdown started: readiness fails now');
  return {
    ms: (complete?.durations as { lameDuck?: number } | undefined)?.lameDuck,
    mode: start === undefined ? undefined : String(start.lameDuckMode),
    probers: start?.probers,
  };
}

/**
 * Runs `instances` instances of `target` behind `balancer`, puts keep-alive load through it, then
 * replaces each instance in turn as an orchestrator would: start the new one, route to it, SIGTERM
 * the old one, wait for its exit and until the balancer no longer routes to it.
 */
export async function rollingRestart(
  target: Target,
  createBalancer: () => Promise<Balancer>,
  instances = 3,
): Promise<RolloutResult> {
  const started = performance.now();
  const balancer = await createBalancer();
  const running: Instance[] = [];
  const result: RolloutResult = {
    target: target.name,
    balancer: balancer.name,
    load: { sent: 0, ok: 0, failed: 0, failures: {} },
    exits: [],
    lameDuck: [],
    modes: [],
    probers: [],
    balancerFailures: {},
    seconds: 0,
  };
  try {
    for (let index = 0; index < instances; index++) {
      const instance = await startInstance(target);
      running.push(instance);
      await balancer.add(instance.port);
    }
    const traffic = startLoad(balancer.port);
    // The scenario: instances that have served for a while before the rollout starts.
    await new Promise((resolve) => setTimeout(resolve, balancer.warmUp));
    for (const old of [...running]) {
      const replacement = await startInstance(target);
      running.push(replacement);
      await balancer.add(replacement.port);
      await balancer.beforeStop(old.port);
      running.splice(running.indexOf(old), 1);
      old.kill('SIGTERM');
      result.exits.push(describeExit(await old.exited));
      const { ms, mode, probers } = lameDuckOf(old);
      if (ms !== undefined) result.lameDuck.push(ms);
      if (mode !== undefined) result.modes.push(mode);
      if (probers !== undefined) result.probers.push(probers);
      // Until the balancer lets go of it, requests it still routes there fail (refused): they count.
      await balancer.afterStop(old.port);
    }
    result.load = await traffic.stop();
    result.balancerFailures = balancer.failures();
  } finally {
    // Their exits are not part of the run; the balancer goes first, so nothing probes them any more.
    await balancer.stop();
    for (const instance of running) instance.kill('SIGTERM');
    await Promise.all(running.map((instance) => instance.exited));
  }
  result.seconds = Math.round((performance.now() - started) / 100) / 10;
  return result;
}
