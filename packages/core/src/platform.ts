/** Where the process runs, as far as it can see (environment, pid, entry file): minimums and startup warnings. */
import { basename } from 'node:path';

/** The facts lameduck reads once; every one is visible to the process itself, no network involved. */
export interface PlatformFacts {
  /** In a Kubernetes pod: the kubelet sets `KUBERNETES_SERVICE_HOST` in every container. */
  kubernetes: boolean;
  /** Under PM2 (`pm_id` or `PM2_HOME` set), with its `kill_timeout` when PM2 passed it on. */
  pm2: { killTimeout: number | undefined } | undefined;
  /** This process is PID 1 (a container's entry point, with no init in front). */
  pid1: boolean;
  /** Started by a package manager's script runner (`npm`, `pnpm`, `yarn`) that runs this very file. */
  scriptRunner: string | undefined;
}

/**
 * The shortest lame-duck phase in Kubernetes with `readinessDelay: 'auto'`, unless set with
 * `minReadinessDelay`. A terminating pod is removed from its Service's endpoints when deletion
 * starts, whatever readiness says, and kube-proxy, ingress controllers and cloud balancers learn of it
 * seconds later (about 1-2 s in a quiet cluster, more under load); no probe shows that lag. 5 s is the
 * `preStop` sleep commonly recommended for it, and was lameduck's fixed default before.
 */
export const KUBERNETES_MINIMUM = 5_000;
/** PM2's default `kill_timeout`: SIGKILL this long after its SIGINT. */
export const PM2_KILL_TIMEOUT = 1_600;
/** Kubernetes' default `terminationGracePeriodSeconds`. */
export const KUBERNETES_GRACE = 30_000;

function wholeNumber(text: string | undefined): number | undefined {
  return text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined;
}

/**
 * Reads the facts. `env`, `pid` and `argv` are parameters so tests can state them. Containers are not
 * told apart (Docker, ECS and Compose each have their own stop timeout, which the process cannot see).
 * A script runner counts only when its script names this process's entry file: the variables are
 * inherited by every descendant (a test runner's children), which were not started by the script.
 */
export function detectPlatform(
  env: NodeJS.ProcessEnv = process.env,
  pid: number = process.pid,
  argv: readonly string[] = process.argv,
): PlatformFacts {
  const pm2 = env.pm_id !== undefined || env.PM2_HOME !== undefined;
  const entry = argv[1] === undefined ? undefined : basename(argv[1]);
  const script = env.npm_lifecycle_script;
  let scriptRunner: string | undefined;
  if (env.npm_lifecycle_event !== undefined && entry !== undefined && script?.includes(entry)) {
    const runner = basename(env.npm_execpath ?? 'npm');
    scriptRunner = /pnpm/.test(runner) ? 'pnpm' : /yarn/.test(runner) ? 'yarn' : 'npm';
  }
  return {
    kubernetes: env.KUBERNETES_SERVICE_HOST !== undefined && env.KUBERNETES_SERVICE_HOST !== '',
    pm2: pm2 ? { killTimeout: wholeNumber(env.kill_timeout) } : undefined,
    pid1: pid === 1,
    scriptRunner,
  };
}

/** The platform's minimum lame-duck phase (ms): `KUBERNETES_MINIMUM` in Kubernetes, else 0. */
export function platformMinimum(facts: PlatformFacts): number {
  return facts.kubernetes ? KUBERNETES_MINIMUM : 0;
}

/** A startup warning: one log line. */
export interface PlatformWarning {
  fields: Record<string, unknown>;
  message: string;
}

/** What cannot work as configured where the process runs; each a fact and what to do about it. */
export function platformWarnings(facts: PlatformFacts, timeout: number): PlatformWarning[] {
  const warnings: PlatformWarning[] = [];
  if (facts.pm2 !== undefined) {
    const killTimeout = facts.pm2.killTimeout ?? PM2_KILL_TIMEOUT;
    if (killTimeout <= timeout) {
      warnings.push({
        fields: { platform: 'pm2', killTimeout, timeout },
        message: `PM2 kills the process ${killTimeout} ms after its signal, before lameduck's timeout (${timeout} ms): set kill_timeout above it`,
      });
    }
  }
  if (facts.pid1) {
    warnings.push({
      fields: { platform: 'pid1', pid: 1 },
      message:
        'running as PID 1: the kernel drops signals PID 1 has no handler for, and nothing reaps orphans; run under an init (docker run --init, tini)',
    });
  }
  if (facts.scriptRunner !== undefined) {
    warnings.push({
      fields: { platform: facts.scriptRunner },
      message: `started by ${facts.scriptRunner}, which does not forward SIGTERM to this process and on Ctrl+C exits 130 whatever it exits with: run node directly in production`,
    });
  }
  if (facts.kubernetes && timeout > KUBERNETES_GRACE) {
    warnings.push({
      fields: { platform: 'kubernetes', timeout, defaultGrace: KUBERNETES_GRACE },
      message: `timeout (${timeout} ms) is longer than Kubernetes' default grace period (${KUBERNETES_GRACE} ms): set terminationGracePeriodSeconds above it`,
    });
  } else if (!facts.kubernetes && timeout > KUBERNETES_GRACE) {
    warnings.push({
      fields: { timeout, defaultGrace: KUBERNETES_GRACE },
      message: `timeout (${timeout} ms) is longer than Kubernetes' default grace period (${KUBERNETES_GRACE} ms): make sure your platform waits that long`,
    });
  }
  return warnings;
}
