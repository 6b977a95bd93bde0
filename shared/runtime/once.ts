/**
 * A value built on first use and kept: the runtime's defaults (SDK clients, logger, metrics) are made
 * when a handler is wired, never when a module is imported, so importing code reads no environment.
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
