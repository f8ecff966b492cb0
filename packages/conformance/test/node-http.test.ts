import { conformance } from './suite.js';

conformance('node-http');
