/** A real PostgreSQL (Debian's postgresql 15) for one test file: a fresh cluster in a temporary folder, on a unix socket only. */
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

/** A running PostgreSQL: where to connect, and how to stop it. */
export interface PostgresServer {
  /** The folder of its unix socket: `host` for pg (a path is a socket folder to it). */
  host: string;
  /** The superuser, trusted on the socket. */
  user: string;
  /** Stops it (a fast shutdown: SIGINT) and removes its folder. */
  stop(): Promise<void>;
}

/** Its binaries: `LAMEDUCK_POSTGRES_BIN`, or Debian's postgresql 15 (what `.ci/run` installs). */
const BIN = process.env.LAMEDUCK_POSTGRES_BIN ?? '/usr/lib/postgresql/15/bin';

/**
 * PostgreSQL refuses to run as root, and CI runs as root: then it runs as `nobody` in a folder that user owns,
 * through util-linux's `setpriv`, which execs the program itself (`runuser` would stay in between as its
 * parent and take the signals meant for it); as anyone else, as that user.
 */
function asUnprivileged(dir: string): { command: (program: string, args: string[]) => [string, string[]] } {
  if (process.getuid?.() !== 0) return { command: (program, args) => [program, args] };
  const id = (flag: string): number => Number(execFileSync('id', [flag, 'nobody'], { encoding: 'utf8' }).trim());
  const [uid, gid] = [id('-u'), id('-g')];
  chownSync(dir, uid, gid);
  const user = [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups'];
  return { command: (program, args) => ['setpriv', [...user, program, ...args]] };
}

/**
 * Creates a cluster (`initdb`, no fsync) and starts `postgres` listening on no TCP address, only on a unix
 * socket in the same folder; resolves once it accepts connections. Rejects, saying what to install, when the
 * binaries are missing.
 */
export async function startPostgres(): Promise<PostgresServer> {
  for (const program of ['initdb', 'postgres']) {
    if (!existsSync(path.join(BIN, program))) {
      throw new Error(
        `PostgreSQL's ${program} not found in ${BIN}: install Debian's postgresql (.ci/run does) or set LAMEDUCK_POSTGRES_BIN`,
      );
    }
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'lameduck-postgres-'));
  const data = path.join(dir, 'data');
  const user = 'postgres';
  const { command } = asUnprivileged(dir);
  try {
    const [program, args] = command(path.join(BIN, 'initdb'), [
      ...['-D', data, '-U', user, '--auth=trust', '--no-sync', '--no-instructions', '-E', 'UTF8', '--no-locale'],
    ]);
    execFileSync(program, args, { stdio: 'pipe' });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`initdb failed: ${(error as Error).message}\n${stderr}`, { cause: error });
  }
  const settings = ['listen_addresses=', `unix_socket_directories=${dir}`, 'fsync=off', 'synchronous_commit=off'];
  const [program, args] = command(path.join(BIN, 'postgres'), ['-D', data, ...settings.flatMap((s) => ['-c', s])]);
  const child = spawn(program, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  // A test that gives up waiting for it (a timed-out beforeAll) never calls stop(): it ends with the test process.
  const orphaned = (): void => void child.kill('SIGINT');
  process.once('exit', orphaned);
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  void exited.then(() => process.off('exit', orphaned));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const output: string[] = [];
  return new Promise((resolve, reject) => {
    child.once('error', (error) => {
      rmSync(dir, { recursive: true, force: true });
      reject(new Error(`postgres did not start: ${error.message}`));
    });
    child.once('exit', (code, signal) => {
      reject(new Error(`postgres exited before it was ready (${code ?? signal}):\n${output.join('\n')}`));
    });
    createInterface({ input: child.stderr! }).on('line', (line) => {
      output.push(line);
      if (line.includes('database system is ready to accept connections')) resolve({ host: dir, user, stop });
    });
  });
}
