/** The machine and the versions a run used, for the top of BENCHMARKS.md. */
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface Machine {
  cpu: string;
  cores: number;
  memory: string;
  os: string;
  node: string;
}

/** Packages whose versions the report lists, as installed for bench/. */
const PACKAGES = [
  '@lameduck/core',
  '@lameduck/express',
  '@lameduck/fastify',
  '@lameduck/koa',
  '@lameduck/hono',
  '@lameduck/nestjs',
  'express',
  'fastify',
  'koa',
  'hono',
  '@hono/node-server',
  '@nestjs/core',
  '@nestjs/platform-express',
  '@godaddy/terminus',
  'http-graceful-shutdown',
  'http-terminator',
  'close-with-grace',
  'ws',
];

export function machine(): Machine {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memory: `${Math.round(os.totalmem() / 1024 ** 3)} GiB`,
    os: `${os.type()} ${os.release()} (${os.arch()})`,
    node: process.version,
  };
}

/** `[name, version]` for each package, read from bench/node_modules/<name>/package.json. */
export function versions(): [string, string][] {
  return PACKAGES.map((name) => {
    const file = new URL(`../node_modules/${name}/package.json`, import.meta.url);
    const { version } = JSON.parse(readFileSync(file, 'utf8')) as { version: string };
    return [name, version];
  });
}

/** The 1-minute load average, a hint of how busy the shared machine was. */
export const load = (): number => os.loadavg()[0]!;

/** CPU time counters in seconds (Linux `/proc`): every process on the machine, this one and its reaped children. */
export interface CpuCounters {
  machine: number;
  ours: number;
  /** Time the hypervisor gave this machine's CPUs to someone else. */
  steal: number;
}

/** Linux's USER_HZ, the unit of /proc's CPU counters; 100 on every mainstream kernel build. */
const TICKS_PER_SECOND = 100;

/** The counters now, or undefined where /proc is not there. */
export function cpuCounters(): CpuCounters | undefined {
  try {
    const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'latin1')
      .split('\n')[0]!
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    // Fields after the command name, which is in parentheses and may hold spaces.
    const self = readFileSync('/proc/self/stat', 'latin1').split(') ')[1]!.split(' ').map(Number);
    const ours = self[11]! + self[12]! + self[13]! + self[14]!; // utime, stime, cutime, cstime
    return {
      machine: (user! + nice! + system! + irq! + softirq!) / TICKS_PER_SECOND,
      ours: ours / TICKS_PER_SECOND,
      steal: steal! / TICKS_PER_SECOND,
    };
  } catch {
    return undefined;
  }
}
