/**
 * The one back-off of the service: a step that doubles per attempt from `baseMs` up to `maxMs`, times
 * a random factor drawn from `spread`, so retries of many callers never bunch up.
 *
 * - `[0.5, 1]` "equal jitter": never sooner than half the step (refresh retries, write retries);
 * - `[0, 1]` "full jitter": anywhere up to the step (REST rate limits);
 * - `[1, 1.2]`: the step plus up to a fifth (parked install claims).
 */
export interface Backoff {
  /** Step after the first attempt. */
  readonly baseMs: number;
  /** Largest step. */
  readonly maxMs: number;
  /** The step is multiplied by a value drawn uniformly from this range. @default [0.5, 1] */
  readonly spread?: readonly [low: number, high: number];
}

/** Half fixed, half random: the default spread. */
export const EQUAL_JITTER = [0.5, 1] as const;

/**
 * Delay before the attempt that follows `attempt` failed ones (1 = after the first failure).
 *
 * @example
 * backoffDelayMs(1, { baseMs: 60_000, maxMs: 1_800_000 }, () => 0) // → 30_000
 * backoffDelayMs(3, { baseMs: 100, maxMs: 1000, spread: [1, 1] })    // → 400
 */
export function backoffDelayMs(attempt: number, backoff: Backoff, random: () => number = Math.random): number {
  const exponent = Math.max(0, Math.min(attempt - 1, 30));
  const step = Math.min(backoff.maxMs, backoff.baseMs * 2 ** exponent);
  const [low, high] = backoff.spread ?? EQUAL_JITTER;
  const draw = Math.min(1, Math.max(0, random()));
  return Math.round(step * (low + (high - low) * draw));
}
