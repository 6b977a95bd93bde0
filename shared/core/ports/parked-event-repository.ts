import type { ParkedEvent } from '#shared/core/domain/parked-event.js';
import type { EpochMs } from '#shared/core/domain/time.js';

/** One parked claim due for another attempt, as the due index lists it. */
export interface ParkedEventKey {
  readonly memberId: string;
  readonly id: string;
  readonly dueAt: EpochMs;
}

/**
 * Durable storage of lifecycle claims between receipt and verification, and of receipts of claims
 * already finished (so a second delivery of the same message changes nothing).
 *
 * @example
 * await parked.park({ id, claim, attempts: 1, dueAt: now + 60_000, parkedAt: now, lastError: 'timeout' });
 * for (const key of await parked.queryDue(0, now)) {
 *   const event = await parked.claim(key, now + 60_000); // undefined: another worker has it
 * }
 */
export interface ParkedEventRepository {
  /** Parks a claim; returns false when the same claim is parked already (nothing changes then). */
  park(event: ParkedEvent, ttlSeconds: number): Promise<boolean>;
  /** Parked claims of `shard` due at or before `dueBefore`, oldest first. */
  queryDue(shard: number, dueBefore: number, limit?: number): Promise<ParkedEventKey[]>;
  /** Number of shards the processor must read. */
  readonly shards: number;
  /**
   * Takes a due claim for one attempt: moves its `dueAt` to `retryAt` and counts the attempt, only if
   * `dueAt` is still the one listed. Returns undefined when another worker took it or it is gone.
   */
  claim(key: ParkedEventKey, retryAt: number): Promise<ParkedEvent | undefined>;
  /** Records a failed attempt and when to try next (the claim stays parked). */
  reschedule(memberId: string, id: string, dueAt: number, lastError: string): Promise<void>;
  /** Removes a parked claim (finished or given up). */
  remove(memberId: string, id: string): Promise<void>;
  /** Every parked claim of the portal (an uninstall cancels them). */
  listForPortal(memberId: string): Promise<ParkedEvent[]>;
  /** Deletes every parked claim and receipt of the portal; returns how many items. */
  removePortal(memberId: string): Promise<number>;
  /** Records that the claim `id` was finished, for `ttlSeconds`. */
  recordReceipt(memberId: string, id: string, now: number, ttlSeconds: number): Promise<void>;
  /** Whether the claim `id` was finished already. */
  hasReceipt(memberId: string, id: string): Promise<boolean>;
}
