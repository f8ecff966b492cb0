/** Test helpers: servers on port 0, real clients, child processes that report events as JSON lines. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type http2 from 'node:http2';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const TLS = {
  key: readFileSync(join(__dirname, 'fixtures', 'key.pem')),
  cert: readFileSync(join(__dirname, 'fixtures', 'cert.pem')),
};

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Listens on 127.0.0.1 and a free port; resolves to the port. */
export async function listen(server: http.Server | https.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  socket: import('node:net').Socket;
}

export interface RequestOptions {
  path?: string;
  method?: string;
  agent?: http.Agent | https.Agent | false;
  headers?: http.OutgoingHttpHeaders;
  tls?: boolean;
  body?: string;
}

/** One real request; resolves with the whole reply, rejects with the socket error (ECONNRESET…). */
export function request(port: number, options: RequestOptions = {}): Promise<Reply> {
  const client = options.tls ? https : http;
  return new Promise((resolve, reject) => {
    let socket: import('node:net').Socket;
    const req = client.request(
      {
        host: '127.0.0.1',
        port,
        path: options.path ?? '/',
        method: options.method ?? 'GET',
        agent: options.agent,
        headers: options.headers,
        ...(options.tls ? { rejectUnauthorized: false } : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, socket }));
        res.on('error', reject);
      },
    );
    req.on('socket', (assigned) => (socket = assigned));
    req.on('error', (error: NodeJS.ErrnoException & { reusedSocket?: boolean }) => {
      // Tells a reset on a kept-alive socket (the server's doing) from one on a fresh connection.
      error.reusedSocket = req.reusedSocket;
      reject(error);
    });
    req.end(options.body);
  });
}

/** Resolves once `emitter` has emitted `event`. */
export function once(emitter: NodeJS.EventEmitter, event: string): Promise<unknown[]> {
  return new Promise((resolve) => emitter.once(event, (...args: unknown[]) => resolve(args)));
}

/** Closes a server and every socket it still holds. */
export async function closeServer(server: http.Server | https.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export type Line = Record<string, unknown>;

/** A child process, with the JSON lines of its stdout (events) and stderr (logs) parsed. */
export interface Child {
  process: ChildProcess;
  events: Line[];
  logs: Line[];
  /** Every line written so far, JSON or not. */
  output: { stdout: string[]; stderr: string[] };
  /** Resolves with the first stdout event that matches; rejects if the process ends first. */
  event(match: (line: Line) => boolean): Promise<Line>;
  /** Resolves with the first stderr log line that matches; rejects if the process ends first. */
  log(match: (line: Line) => boolean): Promise<Line>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
}

function parseLine(text: string): Line | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Line) : undefined;
  } catch {
    return undefined;
  }
}

/** Runs `node <args>` with `env` added to this process's environment. */
export function spawnChild(
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; node?: string } = {},
): Child {
  const child = spawn(options.node ?? process.execPath, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: Line[] = [];
  const logs: Line[] = [];
  const output = { stdout: [] as string[], stderr: [] as string[] };
  const waiters: { from: Line[]; match: (line: Line) => boolean; resolve: (line: Line) => void }[] = [];
  const feed = (into: Line[], raw: string[]) => (text: string) => {
    raw.push(text);
    const line = parseLine(text);
    if (line === undefined) return;
    into.push(line);
    for (const waiter of [...waiters]) {
      if (waiter.from === into && waiter.match(line)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  };
  createInterface({ input: child.stdout! }).on('line', feed(events, output.stdout));
  createInterface({ input: child.stderr! }).on('line', feed(logs, output.stderr));
  // 'close', not 'exit': the streams are read to their end by then.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  const wait = (from: Line[]) => (match: (line: Line) => boolean) => {
    const found = from.find(match);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise<Line>((resolve, reject) => {
      waiters.push({ from, match, resolve });
      void exited.then(({ code, signal }) =>
        reject(
          new Error(`child exited (${code ?? signal}) before the awaited line; stderr:\n${output.stderr.join('\n')}`),
        ),
      );
    });
  };
  return {
    process: child,
    events,
    logs,
    output,
    event: wait(events),
    log: wait(logs),
    exited,
    kill: (signal) => child.kill(signal),
  };
}

const FIXTURES = join(__dirname, 'fixtures');

/** Runs `fixtures/<name>.ts` from the TypeScript sources (no build), with `env` added. */
export function spawnFixture(name: string, env: Record<string, string> = {}, node?: string): Child {
  return spawnChild(['--conditions=@lameduck/source', '--import', 'tsx', join(FIXTURES, `${name}.ts`)], { env, node });
}

/** The `listening` event of a fixture: its ports. */
export async function ports(child: Child): Promise<number[]> {
  const line = await child.event((event) => event.event === 'listening');
  return line.ports as number[];
}

/**
 * Uploads `size` bytes with PUT like a client that reads its response only once its body is sent,
 * after `start()` (which begins the shutdown). The body follows once the server has decided: either
 * it answered already, or it is reading the body first. Resolves with what the client read and the
 * socket error, if any: a server that closed with body unread resets the client and loses its 503.
 */
export async function uploadWhileClosing(
  port: number,
  server: http.Server,
  size: number,
  start: () => void,
  headers = '',
): Promise<{ received: string; error: NodeJS.ErrnoException | undefined }> {
  const client = net.connect(port, '127.0.0.1');
  await once(client, 'connect');
  client.pause();
  let received = '';
  const ended = new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    client.on('data', (data: Buffer) => (received += data.toString('latin1')));
    client.on('error', resolve);
    client.on('end', () => resolve(undefined));
  });
  const decided = new Promise<[http.IncomingMessage, http.ServerResponse]>((resolve) =>
    server.prependListener('request', (req, res) => resolve([req, res])),
  );
  start();
  client.write(`PUT /files HTTP/1.1\r\nHost: localhost\r\n${headers}Content-Length: ${size}\r\n\r\n`);
  const [req, res] = await decided;
  if (!res.writableFinished && req.readableFlowing !== true) {
    await Promise.race([once(res, 'finish'), once(req, 'resume')]);
  }
  const chunk = Buffer.alloc(64 * 1024, 'x');
  for (let sent = 0; sent < size; sent += chunk.length) {
    if (!(await new Promise<boolean>((resolve) => client.write(chunk, (error) => resolve(!error))))) break;
  }
  client.resume();
  const error = await ended;
  client.destroy();
  return { received, error };
}

/** One HTTP/2 request on `session`; resolves with the status, headers and whole body. */
export function h2Request(
  session: http2.ClientHttp2Session,
  path: string,
): Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path });
    let body = '';
    let headers: http2.IncomingHttpHeaders = {};
    stream.setEncoding('utf8');
    stream.on('response', (received) => (headers = received));
    stream.on('data', (chunk: string) => (body += chunk));
    stream.on('end', () => resolve({ status: Number(headers[':status']), headers, body }));
    stream.on('error', reject);
  });
}
