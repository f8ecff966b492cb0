/** Keep-alive load from this process: clients with one pooled socket each, looping requests and tallying outcomes. */
import http from 'node:http';

/** What became of each request. */
export interface Tally {
  /** 2xx with the whole body read. */
  completed: number;
  /** 503: the server read the request and declined it cleanly. */
  rejected: number;
  /** ECONNREFUSED: the connection was never accepted, nothing was sent. Harmless. */
  refused: number;
  /** ECONNRESET, EPIPE, "socket hang up" or a body cut short on a keep-alive connection reused from the pool. */
  lostReused: number;
  /** The same on a connection opened for this request. */
  lostNew: number;
  /** Any other status or error. */
  other: number;
}

export interface Loss {
  at: number;
  reused: boolean;
}

export interface LoadOptions {
  port: number;
  clients: number;
  /** Each client stops after this many requests... */
  requestsPerClient: number;
  /** ...or once this many milliseconds have passed, whichever comes first. */
  duration: number;
}

export interface Load {
  /** Live counts. */
  readonly tally: Readonly<Tally>;
  /** Error codes and statuses counted as `other`. */
  readonly others: ReadonlyMap<string, number>;
  /** When each lost request failed (`performance.now()`), and whether its connection was reused. */
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

type Outcome = keyof Tally;
type Failure = 'lost' | 'refused' | 'other';

interface Result {
  outcome: Outcome;
  /** What an `other` outcome was: `HTTP 404`, `ETIMEDOUT`... */
  detail: string;
}

const PATHS = ['/work', '/'];
const LOST_CODES = new Set(['ECONNRESET', 'EPIPE']);

function outcomeOfStatus(status: number): Outcome {
  if (status >= 200 && status < 300) return 'completed';
  return status === 503 ? 'rejected' : 'other';
}

function failureOf(error: NodeJS.ErrnoException): Failure {
  if (error.code === 'ECONNREFUSED') return 'refused';
  return error.code !== undefined && LOST_CODES.has(error.code) ? 'lost' : 'other';
}

function failed(failure: Failure, detail: string, reusedSocket: boolean): Result {
  if (failure !== 'lost') return { outcome: failure, detail };
  return { outcome: reusedSocket ? 'lostReused' : 'lostNew', detail };
}

/** One GET on `agent`; never rejects. */
function send(port: number, path: string, agent: http.Agent): Promise<Result> {
  return new Promise((resolve) => {
    const request = http.get({ host: '127.0.0.1', port, path, agent }, (response) => {
      const status = response.statusCode ?? 0;
      response.resume();
      response.on('end', () => resolve({ outcome: outcomeOfStatus(status), detail: `HTTP ${status}` }));
      response.on('close', () => {
        if (!response.complete) resolve(failed('lost', 'body cut short', request.reusedSocket));
      });
    });
    request.on('error', (error: NodeJS.ErrnoException) => {
      resolve(failed(failureOf(error), error.code ?? error.message, request.reusedSocket));
    });
  });
}

/** Starts `clients` clients at once, each with its own `http.Agent({ keepAlive: true, maxSockets: 1 })`. */
export function startLoad(options: LoadOptions): Load {
  const tally: Tally = { completed: 0, rejected: 0, refused: 0, lostReused: 0, lostNew: 0, other: 0 };
  const others = new Map<string, number>();
  const losses: Loss[] = [];
  const agents: http.Agent[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  let stopped = false;
  let onFirstRefused!: () => void;
  const firstRefused = new Promise<void>((resolve) => (onFirstRefused = resolve));
  const timer = setTimeout(() => (stopped = true), options.duration);

  function record(outcome: Outcome, detail: string): void {
    tally[outcome]++;
    if (outcome === 'other') others.set(detail, (others.get(detail) ?? 0) + 1);
    if (outcome === 'refused') onFirstRefused();
    if (outcome === 'lostReused' || outcome === 'lostNew') {
      losses.push({ at: performance.now(), reused: outcome === 'lostReused' });
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
    for (let sent = 0; sent < options.requestsPerClient && !stopped; sent++) {
      const { outcome, detail } = await send(options.port, PATHS[(client + sent) % PATHS.length]!, agent);
      record(outcome, detail);
      if (outcome === 'refused') return;
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
