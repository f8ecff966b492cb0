/** Runs one consumer app as a real process: its port, requests to it, SIGTERM, its exit code. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import readline from 'node:readline';

/**
 * Preloaded into every app (`node --require`): prints the port of each server that starts listening as
 * one JSON line on stdout, since the snippets listen on port 0 and print nothing themselves.
 */
const REPORT_PORT = `'use strict';
const net = require('node:net');
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function reportPort(...args) {
  this.once('listening', () => {
    const address = this.address();
    if (address && typeof address === 'object') {
      process.stdout.write(JSON.stringify({ consumer: 'listening', port: address.port }) + '\\n');
    }
  });
  return listen.apply(this, args);
};
`;

export interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request to 127.0.0.1 on its own connection. */
export function get(port: number, urlPath: string): Promise<Response> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body }));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

export interface App {
  /** The port the app's server reported. */
  port: number;
  /** Resolves with the first output line (stdout or stderr) that contains `text`. */
  line(text: string): Promise<string>;
  /** Every line printed so far, for failure messages. */
  output(): string;
  /** Resolves with the exit code and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  process: ChildProcess;
}

/** Starts `node <file>` in `dir` and resolves once its server listens; rejects if it exits first. */
export async function startApp(dir: string, file: string): Promise<App> {
  const preload = path.join(dir, 'report-port.cjs');
  if (!fs.existsSync(preload)) fs.writeFileSync(preload, REPORT_PORT);
  const child = spawn(process.execPath, ['--require', preload, file], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters: { text: string; resolve(line: string): void }[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  for (const stream of [child.stdout!, child.stderr!]) {
    readline.createInterface({ input: stream }).on('line', (text) => {
      lines.push(text);
      for (const waiter of waiters.filter((candidate) => text.includes(candidate.text))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(text);
      }
    });
  }
  const output = () => lines.join('\n');
  const line = (text: string) =>
    new Promise<string>((resolve, reject) => {
      const seen = lines.find((candidate) => candidate.includes(text));
      if (seen !== undefined) return resolve(seen);
      waiters.push({ text, resolve });
      void exited.then(({ code, signal }) =>
        reject(new Error(`${file} exited (${code ?? signal}) before printing "${text}":\n${output()}`)),
      );
    });
  const listening = await line('"consumer":"listening"');
  const { port } = JSON.parse(listening) as { port: number };
  return { port, line, output, exited, process: child };
}
