// Forces lameduck's public-API path (as on a runtime without Node's private HTTP state) when LAMEDUCK_WITHOUT_NODE_INTERNALS=1: Jest setup file and child-process preload.
'use strict';
if (process.env.LAMEDUCK_WITHOUT_NODE_INTERNALS === '1') {
  globalThis[Symbol.for('lameduck.withoutNodeInternals')] = true;
}
