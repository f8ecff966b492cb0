/** A real HAProxy, started in the foreground with a generated config, driven through its runtime API. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Balancer } from './balancer.js';

/** How HAProxy checks its servers: `option httpchk GET <path>` with these `default-server` settings. */
export interface CheckSettings {
  /** A short name for reports: `fast`, `common`. */
  name: string;
  /** `inter`, in ms: the time between two checks of one server. */
  inter: number;
  /** `fall`: consecutive failed checks that mark a server down. */
  fall: number;
  /** `rise`: consecutive passed checks that mark it up again. */
  rise: number;
}

/** The two settings the end-to-end check proves: fast checks, and HAProxy's common ones (its default `rise 2`). */
export const CHECKS: readonly CheckSettings[] = [
  { name: 'fast', inter: 500, fall: 1, rise: 1 },
  { name: 'common', inter: 2_000, fall: 3, rise: 2 },
];

/** A server slot's state as `show stat` reports it: `UP`, `DOWN`, `MAINT`, `UP 1/2`… */
export type SlotStatus = string;

/** A running HAProxy with one frontend and one backend of `slots` server slots, all in maintenance at first. */
export interface Haproxy {
  /** The frontend's port on 127.0.0.1. */
  readonly port: number;
  /** One line per request HAProxy logged (`option httplog`), in order. */
  readonly requestLog: string[];
  /** Points slot `slot` (1-based) at 127.0.0.1:`port` and takes it out of maintenance. */
  enable(slot: number, port: number): Promise<void>;
  /** Puts slot `slot` into maintenance: no traffic, no checks. */
  disable(slot: number): Promise<void>;
  /** Every slot's status. */
  status(): Promise<Map<number, SlotStatus>>;
  /** Resolves once `match` accepts slot `slot`'s status (polled every `poll` ms; HAProxy has no push API). */
  waitFor(slot: number, match: (status: SlotStatus) => boolean, poll?: number): Promise<void>;
  /** Stops HAProxy and removes its files. */
  stop(): Promise<void>;
}

/**
 * Sticky sessions, as Socket.IO's long polling needs: a cookie names the server (derived from its address,
 * so a slot pointed at a new instance gets a new one), and a client whose server is down is sent to another.
 */
const STICKY = `  cookie lameduck insert indirect nocache dynamic
  dynamic-cookie-key lameduck
  option redispatch
`;

/**
 * The config: keep-alive both ways, `http-reuse safe`, no `retry-on` and no `redispatch` (HAProxy's
 * defaults); `sticky` adds cookie persistence and `option redispatch`.
 */
export function haproxyConfig(
  check: CheckSettings,
  checkPath: string,
  slots: number,
  socket: string,
  sticky = false,
): string {
  return `global
  stats socket ${socket} mode 600 level admin
  log stdout format raw local0
defaults
  mode http
  log global
  option httplog
  timeout connect 2s
  timeout client 30s
  timeout server 30s
frontend front
  bind fd@3
  default_backend back
backend back
  option httpchk GET ${checkPath}
  http-reuse safe
${sticky ? STICKY : ''}  default-server check inter ${check.inter}ms fall ${check.fall} rise ${check.rise} disabled
  server-template s 1-${slots} 127.0.0.1:1
`;
}

/** Sends one command to the runtime API; resolves with its whole answer. */
function command(socket: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = net.connect(socket);
    let answer = '';
    client.setEncoding('utf8');
    client.on('data', (chunk: string) => (answer += chunk));
    client.on('end', () => resolve(answer));
    client.on('error', reject);
    client.end(`${text}\n`);
  });
}

function parseStatus(csv: string): Map<number, SlotStatus> {
  const [header, ...rows] = csv.split('\n');
  const columns = (header ?? '').replace(/^# /, '').split(',');
  const name = columns.indexOf('svname');
  const status = columns.indexOf('status');
  const slots = new Map<number, SlotStatus>();
  for (const row of rows) {
    const fields = row.split(',');
    const match = /^s(\d+)$/.exec(fields[name] ?? '');
    if (fields[0] === 'back' && match) slots.set(Number(match[1]), fields[status] ?? '');
  }
  return slots;
}

/** Resolves with `haproxy -v`'s first line, or undefined when HAProxy is not installed. */
export function haproxyVersion(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn('haproxy', ['-v'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', () => resolve(undefined));
    child.on('close', (code) => resolve(code === 0 ? out.split('\n')[0] : undefined));
  });
}

/**
 * Starts HAProxy in the foreground (`-db`). Its frontend listens on a socket this process bound on
 * 127.0.0.1:0 and hands over as fd 3 (`bind fd@3`): no port is picked and released, so no race.
 */
export async function startHaproxy(
  check: CheckSettings,
  checkPath: string,
  slots: number,
  sticky = false,
): Promise<Haproxy> {
  const dir = mkdtempSync(join(tmpdir(), 'lameduck-haproxy-'));
  const socket = join(dir, 'admin.sock');
  const configFile = join(dir, 'haproxy.cfg');
  writeFileSync(configFile, haproxyConfig(check, checkPath, slots, socket, sticky));
  const listener = net.createServer();
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen({ port: 0, host: '127.0.0.1', backlog: 511 }, resolve);
  });
  const port = (listener.address() as net.AddressInfo).port;
  // The listening socket's descriptor, for the child's fd 3. Node has no public getter for it.
  const fd = (listener as unknown as { _handle: { fd: number } })._handle.fd;
  const child: ChildProcess = spawn('haproxy', ['-db', '-f', configFile], { stdio: ['ignore', 'pipe', 'pipe', fd] });
  // HAProxy has its own copy now; ours must not accept anything.
  listener.close();
  const requestLog: string[] = [];
  const stderr: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (/ "[A-Z]+ \S+ HTTP\/1\.[01]"$/.test(line) || /<BADREQ>|<NOSRV>/.test(line)) requestLog.push(line);
  });
  createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const fail = (why: string) => new Error(`${why}; HAProxy said:\n${stderr.slice(-20).join('\n')}`);

  // Ready once the runtime API answers (HAProxy creates the socket after binding everything).
  for (let attempt = 0; ; attempt++) {
    const answer = await Promise.race([command(socket, 'show info').catch(() => undefined), exited.then(() => null)]);
    if (answer === null) throw fail('HAProxy exited at startup');
    if (answer !== undefined && answer.includes('Name: HAProxy')) break;
    if (attempt > 200) throw fail('HAProxy did not open its runtime API within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  async function status(): Promise<Map<number, SlotStatus>> {
    return parseStatus(await command(socket, 'show stat'));
  }
  return {
    port,
    requestLog,
    async enable(slot, serverPort) {
      await command(socket, `set server back/s${slot} addr 127.0.0.1 port ${serverPort}`);
      await command(socket, `set server back/s${slot} state ready`);
    },
    async disable(slot) {
      await command(socket, `set server back/s${slot} state maint`);
    },
    status,
    async waitFor(slot, match, poll = 50) {
      for (;;) {
        const current = (await status()).get(slot);
        if (current !== undefined && match(current)) return;
        await new Promise((resolve) => setTimeout(resolve, poll));
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
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

/**
 * HAProxy as a rolling restart's balancer: a new instance goes into a free slot and is waited for
 * until UP; an old one, once exited, stays in until HAProxy's checks mark it DOWN (requests it still
 * gets are refused and count), then its slot is freed.
 */
export async function haproxyBalancer(
  check: CheckSettings,
  checkPath: string,
  instances: number,
  sticky = false,
): Promise<Balancer> {
  // One spare slot: a replacement goes there before the instance it replaces leaves.
  const haproxy = await startHaproxy(check, checkPath, instances + 1, sticky);
  const slots = new Map<number, number>(); // port → slot
  const free = new Set(Array.from({ length: instances + 1 }, (_, index) => index + 1));
  return {
    name: `haproxy ${check.name}`,
    port: haproxy.port,
    // Long enough for a few checks of every instance, as in any deployment that is not brand new.
    warmUp: 3 * check.inter,
    async add(port) {
      const slot = Math.min(...free);
      free.delete(slot);
      slots.set(port, slot);
      await haproxy.enable(slot, port);
      await haproxy.waitFor(slot, (status) => status === 'UP');
    },
    async beforeStop() {},
    async afterStop(port) {
      const slot = slots.get(port)!;
      await haproxy.waitFor(slot, (status) => status.startsWith('DOWN'));
      await haproxy.disable(slot);
      slots.delete(port);
      free.add(slot);
    },
    failures: () => terminationStates(haproxy.requestLog),
    stop: () => haproxy.stop(),
  };
}
