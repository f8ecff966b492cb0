/** The `runtimes` section's server, run on Bun or Deno: Hono on the runtime's own server, bare and with lameduck. */
import { graceful } from '@lameduck/hono';
import { Hono } from 'hono';

type Fetch = (request: Request, info: unknown) => Response | Promise<Response>;
/** The two runtimes' serve(), as far as this server uses them (each returns its port). */
interface Runtimes {
  Bun?: { serve(options: { port: number; hostname: string; fetch: Fetch }): { port: number } };
  Deno?: {
    serve(options: { port: number; hostname: string; onListen(): void }, handler: Fetch): { addr: { port: number } };
  };
}

const { Bun, Deno } = globalThis as Runtimes;
function serve(fetch: Fetch): number {
  const where = { port: 0, hostname: '127.0.0.1' };
  if (Bun !== undefined) return Bun.serve({ ...where, fetch }).port;
  if (Deno !== undefined) return Deno.serve({ ...where, onListen: () => {} }, fetch).addr.port;
  throw new Error('runtimes/server.ts runs on Bun or Deno');
}

function bare(): { fetch: Fetch } {
  return new Hono().get('/', (c) => c.text('hello'));
}

/** One no-op middleware: what any Hono middleware costs, the reference lameduck's own work is held against. */
function noop(): { fetch: Fetch } {
  return new Hono().use((_c, next) => next()).get('/', (c) => c.text('hello'));
}

function withLameduck(handleSignals: boolean): { fetch: Fetch } {
  // No load balancer routes by readiness here, so no readiness delay (as the node:http bench servers).
  const drain = graceful({ handleSignals, silent: true, readinessDelay: 0 });
  const app = new Hono().use(drain).get('/', (c) => c.text('hello'));
  return app;
}

const mode = process.env.MODE;
if (mode === 'cpu') {
  // Four apps in one process, so that load alternates between them within the same process: bare, a
  // second bare (the A/A control), a no-op middleware and lameduck; and a port that reports the process's CPU time.
  const ports = {
    bare: serve(bare().fetch),
    'bare-aa': serve(bare().fetch),
    noop: serve(noop().fetch),
    lameduck: serve(withLameduck(false).fetch),
    cpu: serve(() => {
      const { user, system } = process.cpuUsage();
      return new Response(String(user + system));
    }),
  };
  process.stdout.write(`${JSON.stringify({ event: 'listening', port: ports.bare, ports })}\n`);
} else if (mode === 'idle-bare' || mode === 'idle-lameduck') {
  // Bare has no signal handler: SIGTERM kills it at once, the floor lameduck's exit is held against.
  const port = serve((mode === 'idle-bare' ? bare() : withLameduck(true)).fetch);
  process.stdout.write(`${JSON.stringify({ event: 'listening', port })}\n`);
} else {
  throw new Error(`MODE must be cpu, idle-bare or idle-lameduck; received ${JSON.stringify(mode)}`);
}
