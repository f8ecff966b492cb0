import { conformance } from './suite.js';

conformance('fastify-5.10');
