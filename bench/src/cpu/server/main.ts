/**
 * The CPU-per-request server: every variant of one framework in this one process, switched by the driver
 * between measurement windows (`node dist/cpu/server/main.js <framework>`, with an IPC channel).
 */
import { activate } from './channels.js';
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Framework } from '../../variants.js';
import { CPU_VARIANTS, isPeer, type CpuVariant, type MeasureMessage, type ServerMessage } from '../protocol.js';
import { BUILDERS, selectVariant } from './apps.js';
import { peerServer } from './peers.js';

function send(message: ServerMessage): void {
  process.send!(message);
}

const framework = process.argv[2] as Framework;
if (!(framework in BUILDERS) || process.send === undefined) {
  throw new Error(`usage: with an IPC channel, main.js <${Object.keys(BUILDERS).join('|')}>; received ${framework}`);
}

let current: Server | undefined;
let variant: CpuVariant = 'bare';
/** Requests since the last switch, and the window: from request number `begin` to `end` (excluded). */
let seen = 0;
let begin = 0;
let end = 0;
let cpuAtBegin = process.cpuUsage();
let timeAtBegin = process.hrtime.bigint();

function closeWindow(): void {
  const cpu = process.cpuUsage(cpuAtBegin);
  const wallMs = Number(process.hrtime.bigint() - timeAtBegin) / 1e6;
  send({ type: 'window', variant, requests: end - begin, cpuMicros: cpu.user + cpu.system, wallMs });
}

/** The listening server's only request listener: the same two comparisons for every variant. */
function dispatch(req: IncomingMessage, res: ServerResponse): void {
  seen++;
  if (seen === begin) {
    cpuAtBegin = process.cpuUsage();
    timeAtBegin = process.hrtime.bigint();
  } else if (seen === end) {
    closeWindow();
  }
  current!.emit('request', req, res);
}

const listening = http.createServer(dispatch);
const servers = new Map<CpuVariant, Server>();
for (const name of CPU_VARIANTS[framework]) {
  activate(name);
  // Every app of a framework is one more object shape its shared code sees: only the apps that differ get one.
  const bare = servers.get('bare')?.listeners('request')[0] as http.RequestListener | undefined;
  servers.set(name, isPeer(name) ? peerServer(name, bare!) : await BUILDERS[framework](name, listening));
}

function measure(message: MeasureMessage): void {
  const leaks = activate(message.variant);
  if (leaks.length > 0 || listening.listenerCount('request') !== 1) {
    send({
      type: 'error',
      message:
        `${framework}: while ${message.variant} serves, other variants' work runs too ` +
        `(channels with foreign subscribers: ${leaks.join(', ') || 'none'}; ` +
        `request listeners on the listening server: ${listening.listenerCount('request')})`,
    });
    return;
  }
  variant = message.variant;
  selectVariant(framework, variant);
  current = servers.get(variant);
  seen = 0;
  begin = message.skip;
  end = message.skip + message.count;
}

activate('bare');
selectVariant(framework, 'bare');
current = servers.get('bare');
process.on('message', (message: MeasureMessage) => measure(message));
listening.listen(0, '127.0.0.1', () => {
  send({ type: 'ready', port: (listening.address() as AddressInfo).port });
});
