// PM2: examples/node-http as a 2-instance cluster, `pm2 reload` with zero downtime (packages/e2e/test/pm2.test.ts runs it).
const path = require('node:path');

const SHUTDOWN_TIMEOUT_MS = 25_000; // lameduck's `timeout`: readiness delay + drain + cleanup

module.exports = {
  apps: [
    {
      name: 'lameduck-example',
      cwd: path.join(__dirname, '..', '..', 'examples', 'node-http'),
      script: 'src/server.ts', // your app: its built entry point, e.g. 'dist/server.js', and no node_args
      interpreter: 'node', // with node_args: run the TypeScript sources through tsx, as the other examples do
      node_args: '--conditions=@lameduck/source --import tsx',
      exec_mode: 'cluster',
      instances: 2,
      // A reload starts the new instance, waits for process.send('ready') (notifyReady()), then stops the old one.
      wait_ready: true,
      // How long a new instance may take to be ready. PM2 stops the old one when it expires, ready or not.
      listen_timeout: 10_000,
      // PM2 sends SIGINT, then SIGKILL after kill_timeout (1600 ms by default): give lameduck its whole deadline.
      kill_timeout: SHUTDOWN_TIMEOUT_MS + 5_000,
      env: {
        SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
        // Keep-alive clients get `Connection: close` for this long, and reconnect to the other instances.
        READINESS_DELAY_MS: '1000',
      },
    },
  ],
};
