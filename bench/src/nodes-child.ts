/** Runs under one Node binary for the `nodes` section: CPU per request and idle exit, lameduck against bare, as one JSON line. */
import { REFERENCE, cpuRatio } from './cpu/report.js';
import { measureCpu, type CpuSettings } from './cpu/run.js';
import { idleOnce, type IdleSettings } from './idle.js';
import type { Estimate } from './stats.js';
import { BARE_EVERYWHERE, LAMEDUCK_EVERYWHERE, type Framework } from './variants.js';

export interface NodesChildSettings {
  frameworks: Framework[];
  cpu: Omit<CpuSettings, 'frameworks'>;
  idle: IdleSettings;
}

/** What one Node measured; every server ran on it (children start with process.execPath). */
export interface NodesChildResult {
  node: string;
  cpu: { framework: Framework; reference: string; ratio: Estimate }[];
  /** `lameduckMs` is null when lameduck's server outlived the cap and was killed. */
  idle: { framework: Framework; bareMs: number; lameduckMs: number | null; lameduckExitCalledMs: number | null }[];
}

async function main(): Promise<void> {
  const settings = JSON.parse(process.argv[2] ?? '') as NodesChildSettings;
  const log = (line: string) => process.stderr.write(`${process.version}: ${line}\n`);
  const run = await measureCpu({ ...settings.cpu, frameworks: settings.frameworks }, log);
  const result: NodesChildResult = { node: process.version, cpu: [], idle: [] };
  for (const framework of settings.frameworks) {
    const samples = run.samples.filter((sample) => sample.framework === framework);
    result.cpu.push({
      framework,
      reference: REFERENCE[framework],
      ratio: cpuRatio(samples, 'lameduck', REFERENCE[framework]),
    });
  }
  for (const framework of settings.frameworks) {
    log(`idle: ${framework}`);
    const bare = await idleOnce(
      BARE_EVERYWHERE.find((variant) => variant.framework === framework)!,
      settings.idle,
    );
    const own = await idleOnce(
      LAMEDUCK_EVERYWHERE.find((variant) => variant.framework === framework)!,
      settings.idle,
    );
    result.idle.push({
      framework,
      bareMs: bare.ending.ms,
      lameduckMs: own.ending.killed ? null : own.ending.ms,
      lameduckExitCalledMs: Number.isNaN(own.exitCalledMs) ? null : own.exitCalledMs,
    });
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
