/** Listening for process signals through the runtime's own API: `Deno.addSignalListener` on Deno, `process.on` elsewhere. */

/** Deno's signal API, as far as lameduck uses it. */
interface DenoSignals {
  addSignalListener(signal: string, listener: () => void): void;
  removeSignalListener(signal: string, listener: () => void): void;
}

/** Calls `listener(signal)` on each of `signals`; returns the function that stops listening. */
export function listenForSignals(signals: readonly string[], listener: (signal: string) => void): () => void {
  const deno = (globalThis as { Deno?: Partial<DenoSignals> }).Deno;
  if (typeof deno?.addSignalListener === 'function' && typeof deno.removeSignalListener === 'function') {
    const { addSignalListener, removeSignalListener } = deno as DenoSignals;
    const listeners = signals.map((signal) => [signal, () => listener(signal)] as const);
    for (const [signal, each] of listeners) addSignalListener(signal, each);
    return () => {
      for (const [signal, each] of listeners) removeSignalListener(signal, each);
    };
  }
  for (const signal of signals) process.on(signal, listener);
  return () => {
    for (const signal of signals) process.off(signal, listener);
  };
}
