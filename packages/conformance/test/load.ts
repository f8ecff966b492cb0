/** `load(name)`: a package by name, for the kinds whose framework is an aliased older version (express-4, fastify-5.8…). */
import { createRequire } from 'node:module';

/**
 * Anchored at the running test file, which is always in this folder: these helpers run as CommonJS in
 * the main Jest project and as ES modules in the Nest 12 one, and neither `__filename` nor `import.meta`
 * exists in both.
 */
export const load = createRequire(expect.getState().testPath!);
