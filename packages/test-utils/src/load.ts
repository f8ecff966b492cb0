/** Keep-alive clients: one classified GET, a JSON fetch, and a load of clients looping requests and tallying outcomes. */
import http from 'node:http';

/**
 * What became of one request: `completed` (2xx, whole body), `rejected` (503: read and declined),
 * `refused` (ECONNREFUSED: never accepted, nothing sent), `lostReused` / `lostNew` (reset, EPIPE,
 * hang-up or a body cut short, on a reused keep-alive connection or a new one), `other`.
 */
export type Outcome = 'completed' | 'rejected' | 'refused' | 'lostReused' | 'lostNew' | 'other';

/** How many requests ended each way. */
export type Tally = Record<Outcome, number>;

export interface Answer {
  outcome: Outcome;
  /** `HTTP 200`, `ECONNRESET`, `body cut short`… */
  detail: string;
}

const LOST = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

function lost(reused: boolean, detail: string): Answer {
  return { outcome: reused ? 'lostReused' : 'lostNew', detail };
}

/** One GET through `agent`; never rejects. `req.reusedSocket` tells a reused keep-alive connection from a new one. */
export function get(port: number, path: string, agent: http.Agent): Promise<Answer> {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path, agent }, (response) => {
      const status = response.statusCode ?? 0;
      response.resume();
      response.on('end', () => {
        const outcome = status >= 200 && status < 300 ? 'completed' : status === 503 ? 'rejected' : 'other';
        resolve({ outcome, detail: `HTTP ${status}` });
      });
      response.on('close', () => {
        if (!response.complete) resolve(lost(request.reusedSocket, 'body cut short'));
      });
    });
    request.on('error', (error: NodeJS.ErrnoException) => {
      const code = error.code ?? error.message;
      if (code === 'ECONNREFUSED') resolve({ outcome: 'refused', detail: code });
      else if (LOST.has(code) || error.message === 'socket hang up') resolve(lost(request.reusedSocket, code));
      else resolve({ outcome: 'other', detail: code });
    });
  });
}

/** GETs `path` on a connection of its own (`Connection: close`) and parses the JSON body. */
export function getJson<T>(port: number, path: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path, agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => {
        try {
          resolve(JSON.parse(body) as T);
        } catch (error) {
          reject(
            new Error(`GET ${path}: HTTP ${response.statusCode}, not JSON: ${body.slice(0, 200)}`, { cause: error }),
          );
        }
      });
    });
    request.on('error', reject);
  });
}

/** A lost request: when (on the load's clock), on which kind of connection, and how. */
export interface Loss {
  at: number;
  reused: boolean;
  detail: string;
}

export interface LoadOptions {
  port: number;
  clients: number;
  /** The path of a client's `sent`-th request. */
  path(client: number, sent: number): string;
  /** Each client stops after this many requests... @default Infinity */
  requestsPerClient?: number;
  /** ...or once this many milliseconds have passed, whichever comes first. @default Infinity */
  duration?: number;
  /** At a refused connection, stop that `client` only, or `all` of them. @default "client" */
  onRefused?: 'client' | 'all';
  /** What `Loss.at` reads. @default performance.now */
  clock?: () => number;
}

export interface Load {
  /** Live counts. */
  readonly tally: Readonly<Tally>;
  /** Error codes and statuses counted as `other`. */
  readonly others: ReadonlyMap<string, number>;
  /** Every lost request. */
  readonly losses: readonly Loss[];
  /** Resolves once `count` requests have completed; rejects if the load ends first. */
  completed(count: number): Promise<void>;
  /** Resolves at the first refused connection: the server has stopped accepting. */
  readonly firstRefused: Promise<void>;
  /** No client starts another request; requests already sent still run to their end. */
  stop(): void;
  /** Resolves when every client has stopped and its last request has settled. */
  readonly finished: Promise<void>;
  /** Destroys every client's agent and socket. */
  destroy(): void;
}

/** Starts `clients` clients at once, each with its own `http.Agent({ keepAlive: true, maxSockets: 1 })`. */
export function startLoad(options: LoadOptions): Load {
  const { requestsPerClient = Infinity, duration = Infinity, onRefused = 'client' } = options;
  const clock = options.clock ?? (() => performance.now());
  const tally: Tally = { completed: 0, rejected: 0, refused: 0, lostReused: 0, lostNew: 0, other: 0 };
  const others = new Map<string, number>();
  const losses: Loss[] = [];
  const agents: http.Agent[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  let stopped = false;
  let onFirstRefused!: () => void;
  const firstRefused = new Promise<void>((resolve) => (onFirstRefused = resolve));
  const timer = Number.isFinite(duration) ? setTimeout(() => (stopped = true), duration) : undefined;

  function record({ outcome, detail }: Answer): void {
    tally[outcome]++;
    if (outcome === 'other') others.set(detail, (others.get(detail) ?? 0) + 1);
    if (outcome === 'refused') onFirstRefused();
    if (outcome === 'lostReused' || outcome === 'lostNew') {
      losses.push({ at: clock(), reused: outcome === 'lostReused', detail });
    }
    if (outcome !== 'completed') return;
    for (const waiter of waiters.filter((entry) => tally.completed >= entry.count)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  }

  async function runClient(client: number): Promise<void> {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);
    for (let sent = 0; sent < requestsPerClient && !stopped; sent++) {
      const answer = await get(options.port, options.path(client, sent), agent);
      record(answer);
      if (answer.outcome !== 'refused') continue;
      if (onRefused === 'all') stopped = true;
      return;
    }
  }

  const clients = Array.from({ length: options.clients }, (_, client) => runClient(client));
  const finished = Promise.all(clients).then(() => clearTimeout(timer));

  return {
    tally,
    others,
    losses,
    completed(count) {
      if (tally.completed >= count) return Promise.resolve();
      return new Promise((resolve, reject) => {
        waiters.push({ count, resolve });
        void finished.then(() => reject(new Error(`the load ended after ${tally.completed} of ${count} responses`)));
      });
    },
    firstRefused,
    stop() {
      stopped = true;
    },
    finished,
    destroy() {
      clearTimeout(timer);
      for (const agent of agents) agent.destroy();
    },
  };
}
