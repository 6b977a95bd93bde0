/**
 * Time as the service counts it. Every instant is milliseconds since the Unix epoch (`EpochMs`), read
 * from an injected clock (`now: () => EpochMs`), so rules take `now` as an argument and tests need no
 * fake timers. DynamoDB's TTL attribute is the one place that counts seconds.
 */

/** An instant: milliseconds since 1970-01-01T00:00:00Z, as `Date.now()` returns it. */
export type EpochMs = number;

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** Real waiting: the default of every `sleep` dependency (tests pass one that does not wait). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** DynamoDB TTL value (epoch seconds, rounded up) of an instant. */
export function ttlSeconds(at: EpochMs): number {
  return Math.ceil(at / SECOND);
}
