/**
 * Polls `probe` until `done` holds for its result, then returns that result. For effects that happen
 * after an answer (a claim finished from the table stream of another process); the timeout only
 * bounds a failing test, it asserts nothing about speed.
 *
 * @example
 * const report = await until(statusJson, (r) => r.counts.active === 1);
 */
export async function until<T>(
  probe: () => Promise<T>,
  done: (value: T) => boolean,
  options: { readonly timeoutMs?: number; readonly everyMs?: number } = {},
): Promise<T> {
  const giveUpAt = Date.now() + (options.timeoutMs ?? 20_000);
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > giveUpAt) return value;
    await new Promise((resolve) => setTimeout(resolve, options.everyMs ?? 100));
  }
}
