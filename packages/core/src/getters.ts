/** withGetters(): getters added to an object after its literal, so that V8 keeps it a fast-properties object. */

/**
 * V8 creates an object literal that declares a getter in dictionary mode, where every property read
 * is a hash lookup (tens of ns on the request path); getters defined on a finished literal keep its
 * hidden class. See V8's `ObjectLiteral::InitDepthAndFlags` (accessors make a literal "slow").
 */
export function withGetters<T extends object, G extends Record<string, () => unknown>>(
  target: T,
  getters: G,
): T & { readonly [K in keyof G]: ReturnType<G[K]> } {
  for (const key of Object.keys(getters)) {
    Object.defineProperty(target, key, { get: getters[key], enumerable: true, configurable: true });
  }
  return target as T & { readonly [K in keyof G]: ReturnType<G[K]> };
}
