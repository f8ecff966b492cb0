/** Example: node:cluster with zero-downtime rolling restarts by @lameduck/cluster; each worker is examples/node-http. */
import cluster from 'node:cluster';
import { fileURLToPath } from 'node:url';
import { createCluster } from '@lameduck/cluster';

// Each worker runs the node-http example: lameduck with handleSignals(), then notifyReady() once it listens.
cluster.setupPrimary({ exec: fileURLToPath(import.meta.resolve('@lameduck/example-node-http/server')) });

const primary = createCluster({
  workers: Number(process.env.WORKERS ?? 4), // invalid: createCluster() throws, naming "workers"
  stopTimeout: 30_000, // longer than the workers' lameduck timeout (SHUTDOWN_TIMEOUT_MS, 25 s by default)
});
primary.handleSignals(); // SIGHUP: replace the workers one at a time; SIGTERM/SIGINT: drain them all, exit 0 or 1
await primary.start();
