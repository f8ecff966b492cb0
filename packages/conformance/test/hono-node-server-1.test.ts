import { conformance } from './suite.js';

conformance('hono-node-server-1');
