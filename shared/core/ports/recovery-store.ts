import type { EpochMs } from '#shared/core/domain/time.js';
import type { IssuedTokens, TokenKey } from '#shared/core/domain/token-set.js';

/**
 * A refreshed pair that could not be written to its token set. The authorization server has already
 * spent `usedRefreshToken`, so this pair is the only live continuation of the chain.
 */
export interface RecoveryRecord extends TokenKey {
  /** The refresh token the pair was obtained with: the pair applies only while it is still stored. */
  readonly usedRefreshToken: string;
  readonly issued: IssuedTokens;
  readonly refreshExpiresAt: EpochMs;
  /** Lease owner that received the pair. */
  readonly owner: string;
  readonly savedAt: EpochMs;
}

/**
 * What parking did:
 * - `parked`: the pair is stored, keyed by the token it was obtained with;
 * - `already_parked`: a pair obtained with that token was parked before (a token yields one pair);
 * - `not_needed`: the token set no longer holds that token — the write landed after all, a newer chain
 *   replaced it, or the portal was uninstalled — so nothing is parked.
 */
export type ParkOutcome = 'parked' | 'already_parked' | 'not_needed';

/**
 * Durable parking for pairs whose write failed (see docs/REFRESH.md, "The lost-write window"). A pair
 * is keyed by the refresh token it was obtained with, so parking never replaces another pair, and the
 * refresh path finds exactly the pair for the token a token set still holds.
 *
 * @example
 * await recovery.save(record);                                 // after the token-set write kept failing
 * const parked = await recovery.get({ memberId, userId: 1 }, stored.refreshToken);
 * await recovery.remove({ memberId, userId: 1 }, stored.refreshToken);
 */
export interface RecoveryStore {
  /** Parks a pair, only while the token set still holds `usedRefreshToken`. */
  save(record: RecoveryRecord): Promise<ParkOutcome>;
  /** The pair obtained with `usedRefreshToken`, if one was parked. */
  get(key: TokenKey, usedRefreshToken: string): Promise<RecoveryRecord | undefined>;
  /** Deletes the pair obtained with `usedRefreshToken` (applied, or no longer applicable). */
  remove(key: TokenKey, usedRefreshToken: string): Promise<void>;
}
