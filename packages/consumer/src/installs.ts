/** The npm installs a consumer test file shares: the packed tarballs, and each install done once, four at a time. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AppInstall } from './matrix.js';
import { npmInstall, packWorkspace } from './npm.js';

/** npm installs run four at a time: each spends most of its time waiting on the network. */
const INSTALLS_AT_ONCE = 4;

export interface Installs {
  /** The temporary directory everything is installed under; `remove()` deletes it. */
  work: string;
  /** Each published package's tarball by name, packed once. */
  tarballs(): Promise<Map<string, string>>;
  /** The directory of `install`, npm-installed on first use. */
  installed(install: AppInstall): Promise<string>;
  remove(): void;
}

/** A fresh temporary directory for one test file's installs. */
export function createInstalls(): Installs {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'lameduck-consumer-'));
  let packed: Promise<Map<string, string>> | undefined;
  const tarballs = () => (packed ??= packWorkspace(path.join(work, 'tarballs')));

  let running = 0;
  const queue: (() => void)[] = [];
  async function slot<T>(job: () => Promise<T>): Promise<T> {
    // A finished job hands its slot straight to the next in line, so no newcomer can take it in between.
    if (running >= INSTALLS_AT_ONCE) await new Promise<void>((resolve) => queue.push(resolve));
    else running++;
    try {
      return await job();
    } finally {
      const next = queue.shift();
      if (next) next();
      else running--;
    }
  }

  const installs = new Map<string, Promise<string>>();
  function installed(install: AppInstall): Promise<string> {
    let done = installs.get(install.name);
    if (!done) {
      const dir = path.join(work, install.name);
      done = tarballs().then((files) => slot(() => npmInstall(dir, install, files)).then(() => dir));
      installs.set(install.name, done);
    }
    return done;
  }

  return { work, tarballs, installed, remove: () => fs.rmSync(work, { recursive: true, force: true }) };
}
