/** The Prometheus text format of a manager's state and counters, built from `stats()` when scraped. */
import { invalidOption } from './errors.js';
import type { LameduckState, LameduckStats } from './types.js';

/** The `Content-Type` of Prometheus' text exposition format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const STATES: readonly LameduckState[] = ['serving', 'lameduck', 'draining', 'cleanup', 'closed'];

/** Options of `prometheusMetrics()`. */
export interface MetricsOptions {
  /**
   * Prefix of every metric name.
   * @default "lameduck_"
   * @example prometheusMetrics(lameduck, { prefix: 'api_lameduck_' })
   */
  prefix?: string;
}

type Sample = [labels: string, value: number];

function metric(lines: string[], name: string, type: 'gauge' | 'counter', help: string, samples: Sample[]): void {
  lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
}

/**
 * Renders a manager's state and counters in the Prometheus text format: its state, requests in
 * flight, connections, requests rejected and forced during the shutdown, and the time spent in each
 * phase. Serve it from a route listed in `keepServing`, so that scrapes still get it during the drain.
 * @example
 * const lameduck = createLameduck({ keepServing: ['/metrics'] });
 * app.get('/metrics', (req, res) => res.type(PROMETHEUS_CONTENT_TYPE).send(prometheusMetrics(lameduck)));
 */
export function prometheusMetrics(lameduck: { stats(): LameduckStats }, options: MetricsOptions = {}): string {
  const prefix = options.prefix ?? 'lameduck_';
  if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$|^$/.test(prefix)) {
    throw invalidOption('prefix', 'a metric name prefix like "lameduck_" (letters, digits, _ and :)', prefix);
  }
  const stats = lameduck.stats();
  const lines: string[] = [];
  const seconds = (ms: number): number => ms / 1000;
  metric(
    lines,
    `${prefix}state`,
    'gauge',
    'Where the manager is in its life: 1 for its current state.',
    STATES.map((state) => [`{state="${state}"}`, state === stats.state ? 1 : 0]),
  );
  metric(lines, `${prefix}started`, 'gauge', 'Startup has finished (1) or not (0).', [
    ['', stats.startup === 'started' ? 1 : 0],
  ]);
  metric(lines, `${prefix}live`, 'gauge', 'Liveness passes (1) or fails (0).', [
    ['', stats.broken === undefined ? 1 : 0],
  ]);
  metric(lines, `${prefix}inflight_requests`, 'gauge', 'Requests (and HTTP/2 streams) in flight.', [
    ['', stats.inflight],
  ]);
  metric(lines, `${prefix}connections`, 'gauge', 'Open connections on the attached servers.', [
    ['', stats.connections],
  ]);
  metric(lines, `${prefix}upgraded_connections`, 'gauge', 'Upgraded connections (WebSockets) still open.', [
    ['', stats.upgraded],
  ]);
  metric(lines, `${prefix}tasks`, 'gauge', 'Background tasks the shutdown waits for.', [['', stats.tasks]]);
  metric(lines, `${prefix}completed_requests_total`, 'counter', 'Requests completed since the shutdown started.', [
    ['', stats.requests.completed],
  ]);
  metric(
    lines,
    `${prefix}rejected_requests_total`,
    'counter',
    'Requests answered 503 because the listener had closed.',
    [['', stats.requests.rejected]],
  );
  metric(
    lines,
    `${prefix}forced_requests_total`,
    'counter',
    'Requests and upgraded connections destroyed at the drain deadline.',
    [['', stats.requests.forced]],
  );
  metric(lines, `${prefix}phase_seconds`, 'gauge', 'Seconds spent in each phase of the shutdown so far.', [
    ['{phase="lameduck"}', seconds(stats.durations.lameDuck)],
    ['{phase="drain"}', seconds(stats.durations.drain)],
    ['{phase="cleanup"}', seconds(stats.durations.cleanup)],
  ]);
  return `${lines.join('\n')}\n`;
}
