/** A real nginx (open source: no active health checks) as a rolling restart's balancer, reconfigured by reload. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Balancer } from './balancer.js';

/** What an nginx config proxies: HTTP/1.1 (`proxy_pass`) or gRPC over HTTP/2 (`grpc_pass`). */
export interface NginxProxy {
  protocol: 'http' | 'grpc';
  /** Appended to each `server` line of the upstream, e.g. ` max_fails=0`. Default: none (nginx's defaults). */
  serverParameters?: string;
}

/**
 * The config: keep-alive to the upstreams (`keepalive`; for HTTP, 1.1 without a `Connection` header),
 * nginx's default `proxy_next_upstream`/`grpc_next_upstream error timeout` (a failed connect is retried
 * on the next server), one log line per request: status, what each upstream tried said, and for gRPC
 * the `grpc-status` trailer.
 */
export function nginxConfig(
  dir: string,
  port: number,
  servers: readonly number[],
  { protocol, serverParameters = '' }: NginxProxy = { protocol: 'http' },
): string {
  const grpc = protocol === 'grpc';
  return `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log notice;
events { worker_connections 1024; }
http {
  log_format outcome '$status $upstream_status${grpc ? ' grpc-status=$sent_trailer_grpc_status' : ''}';
  access_log ${dir}/access.log outcome;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  upstream app {
${servers.map((server) => `    server 127.0.0.1:${server}${serverParameters};`).join('\n')}
    keepalive 16;
  }
  server {
    listen 127.0.0.1:${port}${grpc ? ' http2' : ''};
    location / {
${
  grpc
    ? '      grpc_pass grpc://app;'
    : '      proxy_pass http://app;\n      proxy_http_version 1.1;\n      proxy_set_header Connection "";'
}
    }
  }
}
`;
}

/** A loopback socket bound here, for nginx to inherit as fd 3 (`NGINX=3;`): its port is known before nginx starts. */
export async function nginxListener(): Promise<{
  port: number;
  /** Starts nginx on the socket (once: the socket is closed here); it logs to the files its config names. */
  start(dir: string, config: string): { child: ChildProcess; exited: Promise<unknown> };
}> {
  const listener = net.createServer();
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen({ port: 0, host: '127.0.0.1', backlog: 511 }, resolve);
  });
  return {
    port: (listener.address() as net.AddressInfo).port,
    start(dir, config) {
      // The listening socket's descriptor, for the child's fd 3. Node has no public getter for it.
      const fd = (listener as unknown as { _handle: { fd: number } })._handle.fd;
      const child = spawn('nginx', ['-p', dir, '-c', config], {
        stdio: ['ignore', 'ignore', 'ignore', fd],
        env: { ...process.env, NGINX: '3;' },
      });
      const exited = new Promise((resolve) => child.on('close', resolve));
      listener.close();
      return { child, exited };
    },
  };
}

/** Resolves with `nginx -v`'s line, or undefined when nginx is not installed. */
export function nginxVersion(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn('nginx', ['-v'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let out = '';
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', () => resolve(undefined));
    child.on('close', (code) => resolve(code === 0 ? out.trim() : undefined));
  });
}

/**
 * nginx as the recipe for open-source nginx has it: a replacement is added and the old instance
 * removed from the `upstream` block, `nginx -s reload` (SIGHUP), and only once the new workers run is
 * the old instance sent SIGTERM. The frontend socket is bound here and inherited (`NGINX=3;`).
 */
export async function nginxBalancer(instances: number): Promise<Balancer> {
  const dir = mkdtempSync(join(tmpdir(), 'lameduck-nginx-'));
  const config = join(dir, 'nginx.conf');
  const errorLog = join(dir, 'error.log');
  const listener = await nginxListener();
  const port = listener.port;
  let servers: number[] = [];
  let child: ChildProcess | undefined;
  let exited: Promise<unknown> = Promise.resolve();
  const count = (pattern: RegExp): number => {
    try {
      return (readFileSync(errorLog, 'utf8').match(pattern) ?? []).length;
    } catch {
      return 0;
    }
  };
  const started = () => count(/start worker process \d+/g);
  const ended = () => count(/worker process \d+ exited/g);
  /** Resolves once `done()` holds, read from nginx's error log (polled: nginx has no other signal). */
  const until = async (done: () => boolean): Promise<void> => {
    while (!done()) {
      if (child?.exitCode !== null && child?.exitCode !== undefined) throw new Error(readFileSync(errorLog, 'utf8'));
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };
  /**
   * Writes the config for `servers` and starts nginx, or reloads it; resolves once the new worker
   * runs and every old one has exited (it finishes the requests it had, on the old upstreams).
   */
  const apply = async (): Promise<void> => {
    writeFileSync(config, nginxConfig(dir, port, servers));
    const before = started();
    if (child === undefined) {
      ({ child, exited } = listener.start(dir, config));
    } else {
      child.kill('SIGHUP');
    }
    await until(() => started() > before && ended() >= started() - 1);
  };
  return {
    name: 'nginx (reload, then SIGTERM)',
    port,
    warmUp: 1_000,
    async add(serverPort) {
      servers.push(serverPort);
      // The first instances go in together once all are known; after that, each replacement is
      // applied with the removal of the instance it replaces, in one reload (beforeStop).
      if (child !== undefined || servers.length === instances) await apply();
    },
    async beforeStop(oldPort) {
      servers = servers.filter((server) => server !== oldPort);
      await apply();
    },
    async afterStop() {},
    failures() {
      const counts: Record<string, number> = {};
      let log: string;
      try {
        log = readFileSync(join(dir, 'access.log'), 'utf8');
      } catch {
        return counts; // nothing was logged: no request reached nginx
      }
      for (const line of log.split('\n')) {
        // '200 200' is a plain success; '200 502, 200' one nginx hid by retrying on another server.
        if (line === '' || line === '200 200') continue;
        counts[line] = (counts[line] ?? 0) + 1;
      }
      return counts;
    },
    async stop() {
      child?.kill('SIGQUIT');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
