import type { ParkedEvent, VerifiedPair } from '#shared/core/domain/parked-event.js';
import type { EpochMs } from '#shared/core/domain/time.js';

/** One parked claim due for another attempt, as the due index lists it. */
export interface ParkedEventKey {
  readonly memberId: string;
  readonly id: string;
  readonly dueAt: EpochMs;
}

/** A failed attempt, as `reschedule` records it. */
export interface ParkedRetry {
  /** When the failed attempt ended. */
  readonly at: EpochMs;
  readonly dueAt: EpochMs;
  /** Machine code of the failure, never a token. */
  readonly lastError: string;
  /** Set when the attempt provably did not spend the token: `settledAttempts` becomes this. */
  readonly settledAttempts?: number | undefined;
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
   * The claim a stored item's primary key names (as a table stream reports it, attribute values in
   * DynamoDB JSON); undefined for any other item.
   */
  claimKeyOf(storedKey: unknown): { readonly memberId: string; readonly id: string } | undefined;
  /**
   * Takes a due claim for one attempt: moves its `dueAt` to `retryAt` and counts the attempt, only if
   * `dueAt` is still the one listed. Returns undefined when another worker took it or it is gone.
   */
  claim(key: ParkedEventKey, retryAt: number): Promise<ParkedEvent | undefined>;
  /** The parked claim (a consistent read), undefined when it is gone. */
  get(memberId: string, id: string): Promise<ParkedEvent | undefined>;
  /**
   * Keeps a verified pair in the parked claim until it is stored, so a failed or interrupted store is
   * finished by the next attempt without spending anything. Returns false when the claim is gone (an
   * uninstall cancelled it). The claim is kept until `keepUntil` (the pair's refresh window), however old.
   */
  holdPair(memberId: string, id: string, pair: VerifiedPair, keepUntil: EpochMs): Promise<boolean>;
  /** Records a failed attempt and when to try next (the claim stays parked). */
  reschedule(memberId: string, id: string, retry: ParkedRetry): Promise<void>;
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
