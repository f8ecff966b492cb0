/** @lameduck/test-utils (private): what the tests, `bench/` and the demo share. Runs from source, never built. */
export { aborted, deferred, once, type Deferred } from './promises.js';
export {
  closeServer,
  freePort,
  h2Refusal,
  h2Request,
  listen,
  request,
  unfinishedTlsConnections,
  uploadWhileClosing,
  type Reply,
  type RequestOptions,
  type UploadOptions,
} from './http.js';
export {
  get,
  getJson,
  startLoad,
  type Answer,
  type Load,
  type LoadOptions,
  type Loss,
  type Outcome,
  type Tally,
} from './load.js';
export {
  exitOrKill,
  hrNow,
  spawnChild,
  stopChild,
  type Child,
  type ChildExit,
  type Ending,
  type Line,
  type SpawnOptions,
  type TimedExit,
} from './child.js';
export { docSection, documentationPages, type Page } from './docs.js';
export { runtimeBinary, type Runtime } from './runtimes.js';
export { importCycles, importGraph } from './structure.js';
export { exampleCommand } from './examples.js';
