/** Raw-socket HTTP/1 clients for hostile traffic: pipelined requests, slow drips, HTTP/1.0, resets. */
import type { Server } from 'node:http';
import net from 'node:net';

/** One response as it came off the wire; `informational` holds the 1xx status lines before it. */
export interface RawResponse {
  status: number;
  /** Header names lower-cased. */
  headers: Record<string, string>;
  body: string;
  informational: number[];
}

export interface RawClient {
  socket: net.Socket;
  /** Every byte read so far (latin1). */
  readonly data: string;
  /** Complete responses read so far; `methods[i]` is the method of the i-th request (HEAD has no body). */
  responses(methods?: string[]): RawResponse[];
  /** Resolves once `count` complete responses have arrived, or with fewer once the socket has closed. */
  waitFor(count: number, methods?: string[]): Promise<RawResponse[]>;
  /** Resolves once `done(data)` holds for what has been read, or the socket has closed. */
  waitUntil(done: (data: string) => boolean): Promise<void>;
  /** Resolves when the socket has closed: how (`end` from the server, an error code, or `destroyed` by us). */
  closed: Promise<string>;
}

/**
 * Parses back-to-back HTTP/1 responses (Content-Length, chunked, or read-to-end once `ended`).
 * Stops at the first incomplete one.
 */
export function parseResponses(text: string, methods: string[] = [], ended = false): RawResponse[] {
  const responses: RawResponse[] = [];
  let informational: number[] = [];
  let at = 0;
  while (at < text.length) {
    const headEnd = text.indexOf('\r\n\r\n', at);
    if (headEnd < 0) break;
    const [statusLine = '', ...lines] = text.slice(at, headEnd).split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? NaN);
    if (Number.isNaN(status)) throw new Error(`not an HTTP/1 response at byte ${at}: ${JSON.stringify(statusLine)}`);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    let bodyStart = headEnd + 4;
    if (status < 200) {
      informational.push(status);
      at = bodyStart;
      continue;
    }
    let body: string;
    if (methods[responses.length] === 'HEAD' || status === 204 || status === 304) {
      body = '';
    } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
      body = '';
      let complete = false;
      for (;;) {
        const sizeEnd = text.indexOf('\r\n', bodyStart);
        if (sizeEnd < 0) break;
        const size = parseInt(text.slice(bodyStart, sizeEnd), 16);
        if (size === 0) {
          const trailerEnd = text.indexOf('\r\n', sizeEnd + 2);
          if (trailerEnd >= 0) {
            complete = true;
            bodyStart = trailerEnd + 2;
          }
          break;
        }
        if (text.length < sizeEnd + 2 + size + 2) break;
        body += text.slice(sizeEnd + 2, sizeEnd + 2 + size);
        bodyStart = sizeEnd + 2 + size + 2;
      }
      if (!complete) break;
    } else if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      if (text.length < bodyStart + length) break;
      body = text.slice(bodyStart, bodyStart + length);
      bodyStart += length;
    } else {
      if (!ended) break;
      body = text.slice(bodyStart);
      bodyStart = text.length;
    }
    responses.push({ status, headers, body, informational });
    informational = [];
    at = bodyStart;
  }
  return responses;
}

/** Connects to 127.0.0.1:`port` and records everything the server sends. */
export async function rawClient(port: number): Promise<RawClient> {
  const socket = net.connect(port, '127.0.0.1');
  let data = '';
  let ended = false;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const waiter of [...waiters]) waiter();
  };
  socket.on('data', (chunk: Buffer) => {
    data += chunk.toString('latin1');
    wake();
  });
  const closed = new Promise<string>((resolve) => {
    let how = 'destroyed';
    socket.on('end', () => (how = 'end'));
    socket.on('error', (error: NodeJS.ErrnoException) => (how = error.code ?? error.message));
    socket.on('close', () => {
      ended = true;
      resolve(how);
      wake();
    });
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const responses = (methods?: string[]) => parseResponses(data, methods, ended);
  return {
    socket,
    get data() {
      return data;
    },
    responses,
    waitFor(count, methods) {
      return new Promise((resolve) => {
        const check = () => {
          const parsed = responses(methods);
          if (parsed.length < count && !ended) return;
          waiters.delete(check);
          resolve(parsed);
        };
        waiters.add(check);
        check();
      });
    },
    waitUntil(done) {
      return new Promise((resolve) => {
        const check = () => {
          if (!done(data) && !ended) return;
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
        check();
      });
    },
    closed,
  };
}

/** A client that sends `text` one byte at a time, `every` ms apart: a slowloris, or a very slow client. */
export interface Dripper {
  socket: net.Socket;
  /** Resolves once the first byte has been written. */
  started: Promise<void>;
  /** From now on, at most `budget` more bytes: if the server has not closed the socket by then, give up. */
  limit(budget: number): void;
  /**
   * `closed`: the server closed the socket while it was dripping. `sent`: every byte of `text` went out
   * (the server kept it open). `outlasted`: the budget ran out and the client closed it instead.
   */
  outcome: Promise<'closed' | 'sent' | 'outlasted'>;
}

export function drip(port: number, text: string, every: number): Dripper {
  const socket = net.connect(port, '127.0.0.1');
  let sent = 0;
  let budget = Infinity;
  let timer: NodeJS.Timeout | undefined;
  let settle!: (outcome: 'closed' | 'sent' | 'outlasted') => void;
  const outcome = new Promise<'closed' | 'sent' | 'outlasted'>((resolve) => (settle = resolve));
  let started!: () => void;
  const first = new Promise<void>((resolve) => (started = resolve));
  const finish = (how: 'closed' | 'sent' | 'outlasted') => {
    clearInterval(timer);
    settle(how);
  };
  socket.on('error', () => {});
  socket.on('close', () => finish('closed'));
  socket.once('connect', () => {
    const next = () => {
      if (socket.destroyed) return;
      if (budget <= 0) {
        finish('outlasted');
        socket.destroy();
        return;
      }
      budget--;
      socket.write(text[sent++]!, 'latin1', () => started());
      if (sent === text.length) {
        clearInterval(timer);
        settle('sent');
      }
    };
    next();
    timer = setInterval(next, every);
  });
  return {
    socket,
    started: first,
    limit(more) {
      budget = more;
    },
    outcome,
  };
}

/**
 * Resolves once `server` has accepted `count` more connections. A client's `connect` only means the
 * kernel queued it; closing the listener before the server accepted it resets it.
 */
export function accepted(server: Server, count: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    const onConnection = () => {
      if (++seen < count) return;
      server.off('connection', onConnection);
      resolve();
    };
    server.on('connection', onConnection);
  });
}

/**
 * Sends `GET /` one after another on one kept-alive connection while `more()` allows, then closes it;
 * resolves with how many it sent. Each answer must end in `ok` (the conformance servers' `/`).
 */
export async function keepAliveClient(port: number, more: () => boolean, headers = ''): Promise<number> {
  const ask = `GET / HTTP/1.1\r\nHost: localhost\r\n${headers}\r\n`;
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  let sent = 0;
  let pending = '';
  let finish!: () => void;
  let fail!: (error: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  socket.on('error', fail);
  socket.on('data', (chunk: Buffer) => {
    pending += chunk.toString('latin1');
    if (!pending.endsWith('\r\n\r\nok')) return;
    pending = '';
    if (more()) {
      sent++;
      socket.write(ask);
    } else {
      finish();
    }
  });
  if (more()) {
    sent++;
    socket.write(ask);
  } else {
    finish();
  }
  await done;
  socket.end();
  await new Promise((resolve) => socket.once('close', resolve));
  return sent;
}

/**
 * Counts the connections `server` accepts from now on; `closed()` resolves once every one of them has
 * closed on the server's side (after every other 'close' listener, lameduck's included, has run).
 */
export function serverSockets(server: Server): { closed(): Promise<void> } {
  let open = 0;
  let waiter: (() => void) | undefined;
  server.on('connection', (socket: net.Socket) => {
    open++;
    socket.on('close', () => {
      if (--open === 0) waiter?.();
    });
  });
  return {
    closed: () => (open === 0 ? Promise.resolve() : new Promise<void>((resolve) => (waiter = resolve))),
  };
}
