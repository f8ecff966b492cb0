import { conformance } from './suite.js';

conformance('koa');
