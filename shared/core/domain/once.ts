/**
 * A value built on first use and kept. The runtime builds its defaults (SDK clients, logger, metrics)
 * this way, when a handler is wired, never when a module is imported; schemas are built on first parse.
 *
 * @example
 * const defaultLogger = once(() => new Logger());
 * defaultLogger(); // built now; the same instance every later call
 */
export function once<T>(build: () => T): () => T {
  let built = false;
  let value: T;
  return () => {
    if (!built) {
      value = build();
      built = true;
    }
    return value;
  };
}
