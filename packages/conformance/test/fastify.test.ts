import { conformance } from './suite.js';

conformance('fastify');
