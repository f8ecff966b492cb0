/** The watchdog's worker, as source text: it runs on its own thread and must not depend on the main one. */

// Source text, not a module file: the same string runs from the ESM and CommonJS builds and from the
// TypeScript sources (tests), with no file to resolve. No backslashes or `${` in it: it is a template.
// Layout of the shared buffer, also written by `watchdog/index.ts`:
//   Int32 [0] heartbeat count, [1] 1 when the process may be ended, [2] 1 when the deadline is set,
//   [3] byte length of the activity; Float64 at byte 16: the deadline (epoch ms); bytes 24–1047: the
//   activity as JSON (what lameduck is running: phase, hook, closer).
export const WORKER_SOURCE = `'use strict';
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const NL = String.fromCharCode(10);
const { buffer, stalls, format, stallWarning, stalledAfter, liveMargin, stackLimit, requestLimit, exitLimit } = workerData;
const ints = new Int32Array(buffer, 0, 4);
const deadline = new Float64Array(buffer, 16, 1);
const activityBytes = new Uint8Array(buffer, 24, 1024);
const now = () => performance.timeOrigin + performance.now();

// The session is connected only while reading the main thread: a session still connected when the
// process exits makes Node print "Waiting for the debugger to disconnect...".
let inspector;
let inspectorProblem;
try {
  inspector = require('node:inspector');
  if (typeof inspector.Session.prototype.connectToMainThread !== 'function') throw new Error('no Session#connectToMainThread');
} catch (error) {
  inspector = undefined;
  inspectorProblem = String((error && error.message) || error);
}
let session;
function connect() {
  if (session !== undefined || inspector === undefined) return session;
  try {
    session = new inspector.Session();
    session.connectToMainThread();
  } catch (error) {
    unusable(error);
  }
  return session;
}
function release() {
  if (session === undefined || acting) return;
  try { session.disconnect(); } catch {}
  session = undefined;
}
// Connected but refused (Deno has no connectToMainThread; Bun wants inspector.open() first).
function unusable(error) {
  inspector = undefined;
  inspectorProblem = String((error && error.message) || error);
  if (session !== undefined) try { session.disconnect(); } catch {}
  session = undefined;
}
function post(method, params) {
  const current = session;
  return new Promise((resolve, reject) => {
    if (current === undefined) return reject(new Error('the inspector session has ended'));
    current.post(method, params || {}, (error, result) => (error ? reject(error) : resolve(result)));
  });
}
function within(promise, ms) {
  let timer;
  const late = new Promise((resolve) => { timer = setTimeout(resolve, ms, undefined); });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

function activity() {
  const length = Atomics.load(ints, 3);
  if (length === 0) return {};
  try { return JSON.parse(new TextDecoder().decode(activityBytes.slice(0, length))); } catch { return {}; }
}

// One stack frame as Node prints it, without "at " and the evaluated expression's own frames.
function framesOf(stack) {
  return String(stack).split(NL).slice(1)
    .map((line) => line.trim().replace(/^at /, ''))
    .filter((line) => line !== '' && !line.startsWith('<anonymous>'));
}

const REQUEST_CLASSES = new Set(['IncomingMessage', 'Http2ServerRequest']);
// The request being handled: an IncomingMessage held by a frame on the stack or its closure (the
// handler's req, or Node's own parserOnIncoming beneath it).
async function requestOn(callFrames) {
  for (const frame of callFrames.slice(0, 40)) {
    for (const scope of frame.scopeChain) {
      if ((scope.type !== 'local' && scope.type !== 'closure') || !scope.object.objectId) continue;
      const { result } = await post('Runtime.getProperties', { objectId: scope.object.objectId, ownProperties: true });
      for (const property of result) {
        const value = property.value;
        if (!value || !REQUEST_CLASSES.has(value.className) || !value.objectId) continue;
        const read = await post('Runtime.callFunctionOn', {
          objectId: value.objectId,
          functionDeclaration: 'function () { return { method: this.method, url: this.url }; }',
          returnByValue: true,
        });
        return read.result.value;
      }
    }
  }
  return undefined;
}

// The main thread's stack: an expression evaluated on it through the inspector runs at its next
// interrupt check, on top of the stack of whatever it is stuck in, in a few milliseconds.
const STACK = '(() => { const limit = Error.stackTraceLimit; Error.stackTraceLimit = 30; const stack = new Error().stack; Error.stackTraceLimit = limit; return stack; })()';

// Reads the main thread's stack (waiting up to stackLimit), then pauses it to find the request it
// handles (up to requestLimit more), calling report with what it has after each step. Resolves undefined when the main thread did
// not answer in time: it is blocked outside JavaScript (a native call), where the inspector cannot reach.
let reading;
function capture(report) {
  if (reading !== undefined) return within(reading, stackLimit + requestLimit);
  if (connect() === undefined) return Promise.resolve(undefined);
  reading = (async () => {
    const evaluated = await within(post('Runtime.evaluate', { expression: STACK, returnByValue: true }), stackLimit).catch(
      (error) => ({ problem: String((error && error.message) || error) }),
    );
    if (evaluated === undefined) return undefined;
    if (evaluated.problem !== undefined || !evaluated.result || typeof evaluated.result.value !== 'string') {
      unusable(new Error(evaluated.problem || 'Runtime.evaluate returned no stack'));
      return undefined;
    }
    const found = { stack: framesOf(evaluated.result.value) };
    if (report) report(found);
    const request = await within(pausedRequest(), requestLimit);
    if (request !== undefined) {
      found.request = request;
      if (report) report(found);
    }
    return found;
  })().finally(() => {
    reading = undefined;
    release();
  });
  return reading;
}

// Pauses the main thread, looks for the request on its stack, and resumes it.
function pausedRequest() {
  return new Promise((resolve) => {
    const current = session;
    current.once('Debugger.paused', async ({ params }) => {
      const request = await requestOn(params.callFrames).catch(() => undefined);
      await post('Debugger.resume').catch(() => {});
      await post('Debugger.disable').catch(() => {});
      resolve(request);
    });
    post('Debugger.enable').then(() => post('Debugger.pause')).catch(() => resolve(undefined));
  });
}

function write(level, message, fields) {
  if (format === 'silent') return;
  let line;
  if (format === 'human') {
    const where = fields.stack && fields.stack.length > 0 ? ' at ' + fields.stack[0] : '';
    const request = fields.request ? ' handling ' + fields.request.method + ' ' + fields.request.url : '';
    const hook = fields.hook ? ' in hook "' + fields.hook + '"' : '';
    line = 'lameduck: ' + message + where + hook + request;
  } else {
    line = JSON.stringify({ level, time: Date.now(), name: 'lameduck', msg: message, ...fields });
  }
  try { fs.writeSync(2, line + NL); } catch {}
}

function describe(found, blocked) {
  const fields = { blocked: Math.round(blocked), ...activity() };
  if (found === undefined) {
    fields.stack = null;
    fields.where = inspector === undefined
      ? 'unknown: this runtime cannot read the main thread (' + inspectorProblem + ')'
      : 'outside JavaScript (a native call): no stack';
  } else {
    fields.stack = found.stack === undefined ? null : found.stack;
    if (found.request !== undefined) fields.request = found.request;
    if (found.problem !== undefined) fields.where = found.problem;
    else if (found.stack === undefined) fields.where = 'outside JavaScript (a native call): no stack';
  }
  return fields;
}

let lastBeat = Atomics.load(ints, 0);
let lastBeatAt = now();
// What was read in the current stall (reset when the main thread beats again).
let stall;
let acting = false;

async function act(at) {
  acting = true;
  const blocked = at - lastBeatAt;
  const stalled = blocked >= stalledAfter;
  const fresh = await capture();
  // The request found early in this stall, when the pause had time; the stack as it is now.
  const early = stall === undefined ? undefined : stall.found;
  const found = fresh !== undefined && fresh.request === undefined && early !== undefined && early.request !== undefined
    ? { ...fresh, request: early.request }
    : fresh;
  const fields = describe(found, blocked);
  const owned = Atomics.load(ints, 1) === 1;
  const what = stalled ? 'the shutdown deadline passed with the main thread blocked' : 'the shutdown deadline passed and the shutdown has not finished';
  if (!owned) {
    write('error', what + ': not ending the process (handleSignals() not used)', fields);
    return;
  }
  if (inspector === undefined || connect() === undefined) {
    write('error', what + ': exiting (SIGKILL: this runtime cannot end a blocked main thread otherwise)', fields);
    process.kill(process.pid, 'SIGKILL');
    return;
  }
  write('error', what + ': exiting 1', fields);
  setTimeout(() => process.kill(process.pid, 'SIGKILL'), exitLimit);
  post('Runtime.evaluate', { expression: 'process.exit(1)' }).catch(() => {});
}

function check() {
  if (acting) return;
  const at = now();
  const beat = Atomics.load(ints, 0);
  if (beat !== lastBeat) {
    stall = undefined;
    lastBeat = beat;
    lastBeatAt = at;
  }
  const blocked = at - lastBeatAt;
  if (Atomics.load(ints, 2) === 1 && at >= deadline[0] && (blocked >= stalledAfter || at >= deadline[0] + liveMargin)) {
    void act(at);
    return;
  }
  // Read early in a stall: during shutdown so that the deadline's line has the request (the pause that
  // finds it can be slow), before it for the warning. The main thread logs the warning when it runs
  // again, with what it finds on this port.
  const armed = Atomics.load(ints, 2) === 1;
  if (stall === undefined && ((armed && blocked >= stalledAfter) || (stallWarning !== false && blocked >= stallWarning))) {
    const current = (stall = { found: undefined });
    void capture((found) => {
      current.found = found;
      stalls.postMessage(describe(found, now() - lastBeatAt));
    });
  }
}
// Every 25 ms once the deadline is set, to end the process close to it; before, often enough to see
// a stall of stallWarning early in it.
const serving = stallWarning === false ? 250 : Math.max(25, Math.min(250, stallWarning / 4));
(function watch() {
  check();
  setTimeout(watch, Atomics.load(ints, 2) === 1 ? 25 : serving);
})();
`;
