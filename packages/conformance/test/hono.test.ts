import { conformance } from './suite.js';

conformance('hono');
