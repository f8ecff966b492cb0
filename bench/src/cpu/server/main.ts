/**
 * The CPU-per-request server: the variants of one framework in this one process, switched by the driver
 * between measurement windows (`node dist/cpu/server/main.js <framework> [variants]`, with an IPC channel).
 */
import { activate } from './channels.js';
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Framework } from '../../variants.js';
import { CPU_VARIANTS, isPeer, type CpuVariant, type DriverMessage, type ServerMessage } from '../protocol.js';
import { BUILDERS, selectVariant } from './apps.js';
import { takeInPath } from './in-path.js';
import { peerServer } from './peers.js';

function send(message: ServerMessage): void {
  process.send!(message);
}

const framework = process.argv[2] as Framework;
if (!(framework in BUILDERS) || process.send === undefined) {
  throw new Error(`usage: with an IPC channel, main.js <${Object.keys(BUILDERS).join('|')}>; received ${framework}`);
}
const chosen = (process.argv[3]?.split(',') ?? CPU_VARIANTS[framework]) as CpuVariant[];
const unknown = chosen.filter((name) => !CPU_VARIANTS[framework].includes(name === 'noop-aa' ? 'noop' : name));
if (unknown.length > 0) throw new Error(`${framework} has no variant ${unknown.join(', ')}`);

let current: Server | undefined;
let variant: CpuVariant = chosen[0]!;
/** Requests since the last switch, and the window: from request number `begin` to `end` (excluded). */
let seen = 0;
let begin = 0;
let end = 0;
let cpuAtBegin = process.cpuUsage();
let timeAtBegin = process.hrtime.bigint();

function closeWindow(): void {
  const cpu = process.cpuUsage(cpuAtBegin);
  const wallMs = Number(process.hrtime.bigint() - timeAtBegin) / 1e6;
  const inPathNanos = takeInPath();
  send({ type: 'window', variant, requests: end - begin, cpuMicros: cpu.user + cpu.system, wallMs, inPathNanos });
}

/** The listening server's only request listener: the same two comparisons for every variant. */
function dispatch(req: IncomingMessage, res: ServerResponse): void {
  seen++;
  if (seen === begin) {
    takeInPath();
    cpuAtBegin = process.cpuUsage();
    timeAtBegin = process.hrtime.bigint();
  } else if (seen === end) {
    closeWindow();
  }
  current!.emit('request', req, res);
}

const listening = http.createServer(dispatch);
// The open connections, for `memory()` to wait until the load's have all closed (a set per connection: both variants pay it).
const open = new Set<Socket>();
let onAllClosed: (() => void) | undefined;
listening.on('connection', (socket: Socket) => {
  open.add(socket);
  socket.once('close', () => {
    open.delete(socket);
    if (open.size === 0) onAllClosed?.();
  });
});
const servers = new Map<CpuVariant, Server>();
/**
 * lameduck's variant first, both built and settled: its runtime check subscribes to Node's channels when
 * its server is attached (which Nest's shared app does whichever variant builds it), and the first request
 * it sees decides its path; a subscription counts as the variant's that was active when it was made.
 */
const lameduckFirst = [
  ...chosen.filter((name) => name === 'lameduck'),
  ...chosen.filter((name) => name !== 'lameduck'),
];
for (const name of lameduckFirst) {
  activate(name);
  // Every app of a framework is one more object shape its shared code sees: only the apps that differ get one.
  const bare = servers.get('bare')?.listeners('request')[0] as http.RequestListener | undefined;
  servers.set(name, isPeer(name) ? peerServer(name, bare!) : await BUILDERS[framework](name, listening));
}

/** `MemoryRequest`: the heap after two full collections, once the load's connections have all closed. */
async function memory(): Promise<void> {
  if (globalThis.gc === undefined) throw new Error('memory needs --expose-gc');
  if (open.size > 0) await new Promise<void>((resolve) => (onAllClosed = resolve));
  onAllClosed = undefined;
  globalThis.gc();
  globalThis.gc();
  send({ type: 'memory', heapUsed: process.memoryUsage().heapUsed });
}

function onMessage(message: DriverMessage): void {
  if (message.type === 'memory') {
    memory().catch((error: unknown) => send({ type: 'error', message: String(error) }));
    return;
  }
  measure(message.variant, message.skip, message.count);
}

function measure(chosenVariant: CpuVariant, skip: number, count: number): void {
  const leaks = activate(chosenVariant);
  if (leaks.length > 0 || listening.listenerCount('request') !== 1) {
    send({
      type: 'error',
      message:
        `${framework}: while ${chosenVariant} serves, other variants' work runs too ` +
        `(channels with foreign subscribers: ${leaks.join(', ') || 'none'}; ` +
        `request listeners on the listening server: ${listening.listenerCount('request')})`,
    });
    return;
  }
  variant = chosenVariant;
  selectVariant(framework, variant);
  current = servers.get(variant);
  seen = 0;
  begin = skip;
  end = skip + count;
}

/**
 * One request through each variant, with its own channel subscriptions live, before the first window:
 * until a first response has finished, lameduck follows requests through a `request` listener of its own
 * (its runtime check, core/src/tracker/runtime.ts), which every variant would pay and `measure()` refuses.
 */
function settle(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      res.resume();
      res.once('end', resolve);
    });
    req.once('error', reject);
  });
}

process.on('message', onMessage);
listening.listen(0, '127.0.0.1', () => {
  const port = (listening.address() as AddressInfo).port;
  const settleAll = async (): Promise<void> => {
    for (const name of lameduckFirst) {
      activate(name);
      selectVariant(framework, name);
      current = servers.get(name);
      await settle(port);
    }
  };
  settleAll().then(
    () => {
      measure(variant, 0, 0);
      send({ type: 'ready', port });
    },
    (error: unknown) => send({ type: 'error', message: `${framework}: the settling request failed: ${String(error)}` }),
  );
});
