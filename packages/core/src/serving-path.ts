/** `intercept()` while serving: the one check per request, with all it reads in one small closure. */
import type { IncomingMessage } from 'node:http';
import { kConnection, type Tagged } from './tracker/state.js';
import type { AnyRequest, AnyResponse, PlainResponse } from './types.js';

type Intercept = (req: AnyRequest, res: AnyResponse) => Promise<PlainResponse> | undefined;

/** The serving path of one manager; its parts tell it when the fast check holds. */
export interface ServingPath {
  /** `slow` unless the request is known to need nothing: serving, on a socket of ours, not a probe. */
  readonly intercept: Intercept;
  /** Serving, and `url` cannot be a probe: once its request is tracked, `slow` has nothing more to do. */
  passes(url: string | undefined): boolean;
  /** The manager is serving (`true`), or has left that state for good (`false`). */
  serving(on: boolean): void;
  /** The tracker reads Node's private state: a socket of `owner` is enough to know a request. */
  exact(owner: object): void;
}

/** Matches no connection: the fast check fails until both `serving` and `exact` hold. */
const NOBODY: object = Object.freeze({});

/**
 * Each object a request reaches is one more cache line that the framework's work between two requests
 * has likely evicted (measured: 100–200 ns per request across the manager, tracker and probe closures).
 * So the fast check reads only this closure, the socket and its connection. Anything else goes to `slow`,
 * the full `intercept()`, which decides alike with more to read.
 */
export function createServingPath(probePaths: readonly (string | false)[], slow: Intercept): ServingPath {
  let serving = true;
  let exactOwner: object | undefined;
  let fastOwner = NOBODY;
  // A bit per ASCII character after the leading "/" of each probe path, in four words; `high` answers
  // for the rest (non-ASCII, or "/" alone). A probe path too short to have that character matches all.
  const words = [0, 0, 0, 0];
  let high = false;
  for (const path of probePaths) {
    if (path === false) continue;
    const code = path.charCodeAt(1);
    if (path.length < 2 || code >= 128) {
      words.fill(-1);
      high = true;
      break;
    }
    words[code >> 5]! |= 1 << (code & 31);
  }
  const [w0, w1, w2, w3] = words as [number, number, number, number];
  // An imported binding is read through its module's cells on every call: held here, it is one slot more.
  const key: typeof kConnection = kConnection;
  const update = (): void => void (fastOwner = serving && exactOwner !== undefined ? exactOwner : NOBODY);

  /** `url` cannot be a probe: its second character is no probe path's. */
  function notProbe(url: string | undefined): boolean {
    if (url === undefined) return false;
    const code = url.charCodeAt(1);
    // NaN ("/" alone) passes no comparison: `high` decides it, as for non-ASCII.
    const word = code < 64 ? (code < 32 ? w0 : w1) : code < 96 ? w2 : w3;
    return code < 128 ? ((word >>> (code & 31)) & 1) === 0 : !high;
  }

  return {
    intercept(req, res) {
      // (An HTTP/2 request's socket is a proxy to its session's socket, which is known too.)
      const connection = (req.socket as Tagged<IncomingMessage['socket']> | null | undefined)?.[key];
      if (connection !== undefined && connection.owner === fastOwner && notProbe(req.url)) return undefined;
      return slow(req, res);
    },
    passes: (url) => serving && notProbe(url),
    serving(on) {
      serving = on;
      update();
    },
    exact(owner) {
      exactOwner = owner;
      update();
    },
  };
}
