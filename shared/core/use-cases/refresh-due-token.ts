import { LeaseHeldError, PortalNotFoundError, TokenRefreshError } from '#shared/core/domain/errors.js';
import type { TokenKey } from '#shared/core/domain/token-set.js';
import { METRIC_NAMES } from '#shared/core/ports/metrics.js';
import { type RefreshDeps, refreshTokenSet } from './refresh-token-set.js';

/** What became of one due token set handed to a worker (the sweep's or the queue's). */
export type DueRefreshOutcome =
  | { readonly kind: 'refreshed' }
  /** Nothing to do any more: refreshed by somebody else meanwhile, no longer refreshable, or gone. */
  | { readonly kind: 'skipped' }
  /** Another worker holds the lease; it writes the outcome. */
  | { readonly kind: 'lease_held' }
  /**
   * The refresh failed. `retry`: nothing moved the token set's due time (a crash before any write, a
   * refreshed pair parked because its write failed), so the caller should try it again soon; otherwise
   * the failure is recorded and the due index holds the retry time.
   */
  | { readonly kind: 'failed'; readonly category: string; readonly retry: boolean };

/**
 * Runs one due token set through the refresh path as the sweep does (`reason: 'sweep'`: refreshed only
 * if still due) and says what became of it. Never throws: an error that is no refresh outcome
 * (DynamoDB, credentials, a bug) is counted as `internal`, logged without secrets, and asks for a retry.
 *
 * @example
 * const outcome = await refreshDueToken({ memberId, userId }, deps);
 * if (outcome.kind === 'failed' && outcome.retry) reportForRedelivery();
 */
export async function refreshDueToken(key: TokenKey, deps: RefreshDeps): Promise<DueRefreshOutcome> {
  try {
    const { kind } = await refreshTokenSet(key, { reason: 'sweep' }, deps);
    return kind === 'refreshed' || kind === 'recovered' ? { kind: 'refreshed' } : { kind: 'skipped' };
  } catch (error) {
    if (error instanceof LeaseHeldError) return { kind: 'lease_held' };
    if (error instanceof PortalNotFoundError) return { kind: 'skipped' };
    if (error instanceof TokenRefreshError) {
      return { kind: 'failed', category: error.category, retry: error.category === 'write_failed' };
    }
    deps.metrics.count(METRIC_NAMES.refreshFailed, 1, { category: 'internal' });
    deps.logger.error('refresh of a due token set crashed', { memberId: key.memberId, userId: key.userId, error });
    return { kind: 'failed', category: 'internal', retry: true };
  }
}
