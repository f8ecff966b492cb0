/** Packing the workspace the way a release does, and installing the tarballs with npm as a user would. */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { publishedPackages, readManifest, WORKSPACE, type AppInstall } from './matrix.js';

/** Runs a command to its end; rejects, with everything it printed, unless it exits 0. */
export function run(
  command: string,
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { ...options, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      if (error) reject(new Error(`${command} ${args.join(' ')} (in ${options.cwd}) failed:\n${output}`));
      else resolve(output);
    });
  });
}

/**
 * The environment for npm in an app directory. A package-manager script passes its own settings down as
 * `npm_*` variables (`npm_config_local_prefix` would point npm at the workspace); only the settings that
 * say how to reach the registry go through.
 */
export function npmEnv(): NodeJS.ProcessEnv {
  const keep = /^npm_config_(registry|cafile|ca|cert|key|strict_ssl|proxy|https_proxy|noproxy|userconfig|cache)$/i;
  return Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^(npm|pnpm)_/i.test(key) || keep.test(key)),
  );
}

/** The workspace's pinned pnpm, through npx: what `.ci/run` uses. */
function pnpm(args: string[], cwd: string): Promise<string> {
  const version = readManifest(WORKSPACE).packageManager!.split('@')[1]!;
  return run('npx', ['--yes', `pnpm@${version}`, ...args], { cwd });
}

/**
 * Packs every published package into `dest` with the workspace's `pnpm pack:tarballs`, the command the
 * README gives (`pnpm pack` turns `workspace:^` into a real range, as publishing does), and returns each
 * package's tarball by name. Packs what `pnpm build` last built; fails if it packed anything else.
 */
export async function packWorkspace(dest: string): Promise<Map<string, string>> {
  const packages = publishedPackages();
  for (const { name, dir } of packages) {
    if (!fs.existsSync(path.join(dir, 'dist'))) throw new Error(`${name} is not built: run \`pnpm build\` first`);
  }
  await pnpm(['pack:tarballs', dest], WORKSPACE);
  const tarballs = new Map<string, string>();
  for (const { name, dir } of packages) {
    tarballs.set(name, path.join(dest, `${name.replace(/^@/, '').replace('/', '-')}-${readManifest(dir).version}.tgz`));
  }
  const packed = fs.readdirSync(dest).map((file) => path.join(dest, file));
  if (packed.sort().join() !== [...tarballs.values()].sort().join()) {
    throw new Error(`pack:tarballs wrote ${packed.join(', ')}; expected ${[...tarballs.values()].join(', ')}`);
  }
  return tarballs;
}

/** A new npm project in `dir` with the install's tarballs and registry packages, installed by npm. */
export async function npmInstall(dir: string, install: AppInstall, tarballs: Map<string, string>): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `consumer-${install.name}`, private: true }));
  const specs = install.packages.map((name) => {
    const file = tarballs.get(name);
    if (!file) throw new Error(`no tarball for ${name}`);
    return file;
  });
  await run(
    'npm',
    ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...specs, ...install.dependencies],
    {
      cwd: dir,
      env: npmEnv(),
    },
  );
}
