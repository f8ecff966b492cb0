import { conformance } from './suite.js';

conformance('nestjs-12-express');
