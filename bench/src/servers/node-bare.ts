/** node:http with no shutdown handling: the throughput reference (SIGTERM kills it). */
import http from 'node:http';
import { nodeHandler } from './app-node.js';
import { announce, prepare } from './common.js';

const server: http.Server = http.createServer(nodeHandler(() => server));
prepare(server);
server.listen(0, '127.0.0.1', () => announce(server));
