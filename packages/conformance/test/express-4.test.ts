import { conformance } from './suite.js';

conformance('express-4');
