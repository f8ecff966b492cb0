/** The textbook graceful shutdown, for comparison: `server.close()` on SIGTERM, exit 0 once it has closed. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const server = http.createServer((_req, res) => {
  res.end('hello from the textbook\n');
});
server.listen(Number(process.env.PORT ?? 3000), process.env.HOST || '0.0.0.0', () => {
  console.log(
    JSON.stringify({ event: 'listening', port: (server.address() as AddressInfo).port, framework: 'node-http' }),
  );
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
process.on('SIGINT', () => server.close(() => process.exit(0)));
