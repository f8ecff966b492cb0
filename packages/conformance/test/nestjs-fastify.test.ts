import { conformance } from './suite.js';

conformance('nestjs-fastify');
