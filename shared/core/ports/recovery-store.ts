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
 * Durable parking for pairs whose write failed (see docs/REFRESH.md, "The lost-write window"). The
 * refresh path applies a parked pair when the token set still holds the spent refresh token.
 *
 * @example
 * await recovery.save(record);                      // after the token-set write kept failing
 * const parked = await recovery.get({ memberId, userId: 1 });
 * await recovery.remove({ memberId, userId: 1 }, parked.usedRefreshToken);
 */
export interface RecoveryStore {
  /** Parks a pair (replacing an older one of the same token set). */
  save(record: RecoveryRecord): Promise<void>;
  get(key: TokenKey): Promise<RecoveryRecord | undefined>;
  /** Deletes the parked pair if it is still the one obtained with `usedRefreshToken`. */
  remove(key: TokenKey, usedRefreshToken: string): Promise<void>;
}
