import { randomUUID } from 'node:crypto';
import { type Backoff, backoffDelayMs } from '#shared/core/domain/backoff.js';
import {
  BitrixOAuthError,
  LeaseHeldError,
  OWN_ERROR_CODES,
  PortalNotFoundError,
  TokenConflictError,
  TokenRefreshError,
  TokenUnavailableError,
  unavailableReason,
} from '#shared/core/domain/errors.js';
import {
  decideFailure,
  type FailureSettings,
  nextRefreshAt,
  type RefreshFailureCategory,
  type RefreshPolicy,
} from '#shared/core/domain/refresh-policy.js';
import { type EpochMs, HOUR, sleep } from '#shared/core/domain/time.js';
import { extendsOpenRun, withFailure, withRefresh } from '#shared/core/domain/token-history.js';
import {
  accessTokenValid,
  type FailureRecord,
  type IssuedTokens,
  REFRESHABLE_STATUSES,
  type TokenKey,
  type TokenSet,
  type TokenStatus,
} from '#shared/core/domain/token-set.js';
import type { CredentialsHealth } from '#shared/core/ports/credentials-health.js';
import type { Logger } from '#shared/core/ports/logger.js';
import type { MetricsRecorder } from '#shared/core/ports/metrics.js';
import { METRIC_NAMES } from '#shared/core/ports/metrics.js';
import {
  NOTIFICATION_REASONS,
  type NotificationPublisher,
  type TokenStatusEvent,
} from '#shared/core/ports/notification-publisher.js';
import type { BitrixOAuthClient } from '#shared/core/ports/oauth-client.js';
import type { ParkOutcome, RecoveryRecord, RecoveryStore } from '#shared/core/ports/recovery-store.js';
import type { HeldLease, TokenRepository } from '#shared/core/ports/token-repository.js';
import { notifyOperators } from './notify-operators.js';
import { recordHistory } from './record-history.js';
import { credentialsAcceptedSince } from './watch-credentials.js';

/**
 * Why a refresh is asked for:
 * - `sweep`: the scheduled sweep found the token set due; refreshes only if it is still due.
 * - `on_demand`: a consumer needs an access token valid for `minValidityMs`; refreshes only if the
 *   stored one is not.
 * - `stale_report`: a consumer's access token (of `seenVersion`) was refused (`expired_token`,
 *   `invalid_token`); refreshes unless a newer version is stored already.
 * - `uninstall_proof`: an ONAPPUNINSTALL came for a portal whose application token we do not know;
 *   always refreshes (a running back-off included), because the authorization server's answer is the
 *   proof: a new pair means the app is still installed (docs/LIFECYCLE.md, "Uninstall").
 */
export type RefreshReason = 'sweep' | 'on_demand' | 'stale_report' | 'uninstall_proof';

export interface RefreshInput {
  readonly reason: RefreshReason;
  /**
   * The version of the token set the caller holds. When the stored version is newer (and its access
   * token still valid), the stored tokens are returned without calling the authorization server.
   */
  readonly seenVersion?: number | undefined;
  /** `on_demand`: the access token must stay valid this long. @default settings.onDemandMarginMs */
  readonly minValidityMs?: number | undefined;
  /**
   * How long to wait for another worker's refresh of the same token set before giving up with
   * `LeaseHeldError`. @default 0 for `sweep`, settings.leaseWaitMs otherwise
   */
  readonly waitForLeaseMs?: number | undefined;
}

/**
 * - `refreshed`: this call obtained a new pair and stored it.
 * - `recovered`: this call stored a pair parked after a failed write (no new server call).
 * - `current`: the stored tokens needed nothing (not due, still valid, or newer than seen).
 * - `superseded`: another worker refreshed (or a new chain arrived) meanwhile; its tokens are returned.
 */
export type RefreshOutcomeKind = 'refreshed' | 'recovered' | 'current' | 'superseded';

export interface RefreshOutcome {
  readonly kind: RefreshOutcomeKind;
  /** The stored token set after the call: the one to use. */
  readonly tokenSet: TokenSet;
}

/** Tuning of the refresh path (the runtime builds it from the configuration: `refreshSettings(config)`). */
export interface RefreshSettings {
  readonly policy: RefreshPolicy;
  readonly failures: FailureSettings;
  /** Assumed refresh-token lifetime (`refreshExpiresAt = refreshIssuedAt + this`). */
  readonly refreshTokenLifetimeMs: number;
  readonly leaseMs: number;
  /** Attempts to store a received pair (and, separately, to park it) before giving up. */
  readonly writeAttempts: number;
  /** Default wait for another worker's lease outside the sweep. */
  readonly leaseWaitMs: number;
  /** Default `minValidityMs` of `on_demand`. */
  readonly onDemandMarginMs: number;
}

/** The token store operations the refresh path uses. */
export type RefreshRepository = Pick<
  TokenRepository,
  'getTokenSet' | 'acquireLease' | 'completeRefresh' | 'recordFailure' | 'releaseLease' | 'readHistory' | 'writeHistory'
>;

export interface RefreshDeps {
  readonly repository: RefreshRepository;
  readonly oauth: Pick<BitrixOAuthClient, 'refresh'>;
  readonly recovery: RecoveryStore;
  /**
   * When our client credentials were last accepted: tells an app removed from a portal from wrong
   * credentials (both answer `invalid_client`). @default none: `invalid_client` is never taken for an
   * uninstall
   */
  readonly credentials?: CredentialsHealth | undefined;
  readonly notifications: NotificationPublisher;
  readonly metrics: MetricsRecorder;
  readonly logger: Logger;
  readonly settings: RefreshSettings;
  /** The clock leases, due times and expiries are judged by. */
  readonly clock: () => EpochMs;
  /** @default Math.random */
  readonly random?: () => number;
  /** Real waiting (lease polls, write back-off). @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Rounds of "re-read and decide again" after losing a race, before giving up. */
const MAX_ROUNDS = 6;
/** Write back-off: 100 ms, 200 ms, … up to 1 s (half random). */
const WRITE_RETRY: Backoff = { baseMs: 100, maxMs: 1000 };
const FIRST_LEASE_POLL_MS = 100;
const MAX_LEASE_POLL_MS = 1000;
/**
 * An `uninstall_proof` refresh refused with `invalid_client` means "app not installed" when our
 * credentials were accepted this recently: a secret rotated wrongly shows as refusals for every portal
 * from then on, so a recent acceptance rules it out. Older than this, the refusal stays `invalid_client`
 * (the uninstall is unproven) rather than taking a forged event for a real one.
 */
const UNINSTALL_PROOF_CREDENTIALS_WINDOW_MS = HOUR;

type Decision = 'refresh' | 'current';

/**
 * THE refresh path: the sweep, on-demand reads and consumer stale reports all come through here.
 *
 * Re-reads the token set and decides whether a refresh is needed; if so takes the lease (conditional
 * on the version read and on the lease being free or expired), spends the refresh token at the
 * authorization server, checks the answer is for this portal, and stores the new pair fenced on the
 * spent refresh token (a worker whose lease ran out cannot overwrite newer tokens). Losing any race
 * re-reads and returns the winner's tokens. Failures follow the taxonomy of `decideFailure`; a pair
 * that cannot be stored is parked in the `RecoveryStore` and applied by the next attempt.
 *
 * @returns the token set to use; on a race, the winner's.
 * @throws `TokenUnavailableError` when the token set is `reauth_required`, `payment_required`,
 *   `invalid_client` or `uninstalled` (never for `sweep`); `TokenRefreshError` (a subclass) when this
 *   attempt failed or a back-off is running; `LeaseHeldError` when another worker is refreshing and the
 *   wait ran out; `PortalNotFoundError` when there is no such token set.
 *
 * @example
 * const { tokenSet } = await refreshTokenSet({ memberId, userId: 1 }, { reason: 'stale_report', seenVersion: 7 }, deps);
 */
export async function refreshTokenSet(
  key: TokenKey,
  request: RefreshInput,
  deps: RefreshDeps,
): Promise<RefreshOutcome> {
  const run = new RefreshRun(key, request, deps);
  return run.execute();
}

/** One call of the refresh path; holds the state its steps share. */
class RefreshRun {
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly owner: string;
  private waitedMs = 0;
  /** Set once another worker is seen to have changed the token set during this call. */
  private raced = false;
  private recovered = false;
  /**
   * The refresh the history must record once its pair is stored (one after a gap starts a new run; the
   * first of a token set whose history an older item kept on itself moves it); undefined when the
   * refresh only extends the open run, whose figures are on the token set.
   */
  private newRun: { readonly at: EpochMs; readonly accessExpiresAt: EpochMs } | undefined;

  constructor(
    private readonly key: TokenKey,
    private readonly request: RefreshInput,
    private readonly deps: RefreshDeps,
  ) {
    this.random = deps.random ?? Math.random;
    this.sleep = deps.sleep ?? sleep;
    this.owner = `${request.reason}:${randomUUID()}`;
  }

  async execute(): Promise<RefreshOutcome> {
    for (let round = 0; round < MAX_ROUNDS; ) {
      const now = this.deps.clock();
      const stored = await this.deps.repository.getTokenSet(this.key);
      if (stored === undefined) throw new PortalNotFoundError(this.key.memberId, this.key.userId);
      // A dead chain may have a continuation parked for its token (a park that landed late): revive it.
      const parked = stored.status === 'reauth_required' ? await this.parkedPairFor(stored) : undefined;
      if (parked === undefined && this.decide(stored, now) === 'current') {
        return { kind: this.recovered ? 'recovered' : this.raced ? 'superseded' : 'current', tokenSet: stored };
      }
      let lease: HeldLease;
      try {
        lease = await this.deps.repository.acquireLease(this.key, {
          owner: this.owner,
          now,
          leaseMs: this.deps.settings.leaseMs,
          expectedVersion: stored.version,
        });
      } catch (error) {
        if (error instanceof TokenConflictError) {
          // Changed between our read and the lease: somebody else moved it; decide again.
          this.raced = true;
          round += 1;
          continue;
        }
        if (error instanceof LeaseHeldError) {
          await this.waitForLease(error);
          this.raced = true;
          continue;
        }
        lease = await this.ownLeaseAfter(error);
      }
      const result =
        parked === undefined
          ? await this.refreshUnderLease(lease)
          : await this.reviveUnderLease(lease.tokenSet, parked);
      if (result !== undefined) return result;
      this.raced = true;
      round += 1;
    }
    throw new TokenConflictError('the token set kept changing while refreshing', {
      details: { memberId: this.key.memberId, userId: this.key.userId },
    });
  }

  /**
   * The lease write failed without an answer we can read (timeout, 5xx, reset): it may have landed. A
   * consistent re-read tells: our lease is held (go on under it, `uncertain`), or it is not (nothing
   * was taken; the caller sees the error). Never leaves a lease of ours behind unknowingly.
   */
  private async ownLeaseAfter(error: unknown): Promise<HeldLease> {
    const current = await this.readOrFail(error);
    if (current?.leaseOwner === this.owner) return { tokenSet: current, uncertain: true };
    throw error;
  }

  /** A consistent read of the token set; a read that fails too is reported as the original failure. */
  private async readOrFail(original: unknown): Promise<TokenSet | undefined> {
    try {
      return await this.deps.repository.getTokenSet(this.key);
    } catch {
      throw original;
    }
  }

  /**
   * The pair parked for the token set's stored refresh token, if any. A failed read is transient:
   * nothing is concluded from it.
   */
  private async parkedPairFor(stored: TokenSet): Promise<RecoveryRecord | undefined> {
    try {
      return await this.deps.recovery.get(this.key, stored.refreshToken);
    } catch (error) {
      throw new TokenRefreshError(this.key, 'transient', stored.status, undefined, {
        cause: error instanceof Error ? error : undefined,
        details: { code: OWN_ERROR_CODES.recoveryUnreadable },
      });
    }
  }

  /** Applies a parked pair to a `reauth_required` token set under our lease. */
  private async reviveUnderLease(held: TokenSet, parked: RecoveryRecord): Promise<RefreshOutcome | undefined> {
    if (held.refreshToken !== parked.usedRefreshToken) {
      await this.releaseQuietly();
      return undefined;
    }
    await this.applyParkedPair(held, parked);
    return undefined;
  }

  /** Whether the stored token set needs a refresh now, or can be returned as it is. */
  private decide(stored: TokenSet, now: number): Decision {
    const { reason, seenVersion } = this.request;
    if (!REFRESHABLE_STATUSES.has(stored.status)) {
      // The sweep has nothing to do with a dead chain (it left the due index meanwhile); consumers learn why.
      if (reason === 'sweep') return 'current';
      throw new TokenUnavailableError(unavailableReason(stored.status), this.key.memberId, this.key.userId);
    }
    if (reason === 'sweep') {
      return stored.nextRefreshAt !== undefined && stored.nextRefreshAt <= now ? 'refresh' : 'current';
    }
    if (reason === 'uninstall_proof') return 'refresh';
    const minValidity =
      reason === 'on_demand' ? (this.request.minValidityMs ?? this.deps.settings.onDemandMarginMs) : 0;
    const newer = seenVersion !== undefined && stored.version > seenVersion;
    if (reason === 'on_demand' || newer) {
      if (stored.status !== 'payment_required' && accessTokenValid(stored, now, minValidity)) return 'current';
    }
    // A failure is recent: hold back until its retry time instead of hammering the server per read.
    if (stored.consecutiveFailures > 0 && stored.nextRefreshAt !== undefined && stored.nextRefreshAt > now) {
      throw new TokenRefreshError(this.key, 'backoff', stored.status, stored.nextRefreshAt);
    }
    return 'refresh';
  }

  private async waitForLease(error: LeaseHeldError): Promise<void> {
    const limit = this.request.waitForLeaseMs ?? (this.request.reason === 'sweep' ? 0 : this.deps.settings.leaseWaitMs);
    if (this.waitedMs >= limit) throw error;
    // Polls at 100, 100, 200, 400, 800 ms, then every second: quick for a normal refresh, cheap for a long one.
    const pause = Math.min(limit - this.waitedMs, MAX_LEASE_POLL_MS, Math.max(FIRST_LEASE_POLL_MS, this.waitedMs));
    await this.sleep(pause);
    this.waitedMs += pause;
  }

  /** Calls the server under our lease. `undefined` = the token set changed under us: decide again. */
  private async refreshUnderLease(lease: HeldLease): Promise<RefreshOutcome | undefined> {
    const held = lease.tokenSet;
    // A lease found already ours may have taken over an interrupted refresh: wait before concluding.
    const tookOver = lease.tookOver !== undefined || lease.uncertain === true;
    if (lease.tookOver !== undefined) await this.surfaceInterrupted(held, lease.tookOver);
    let issued: IssuedTokens;
    try {
      issued = await this.deps.oauth.refresh({ serverEndpoint: held.serverEndpoint, refreshToken: held.refreshToken });
    } catch (error) {
      if (error instanceof BitrixOAuthError) return this.failed(held, tookOver, error.category, error.error, error);
      // Not an answer from the server (credentials unreadable, server not allow-listed): the token was
      // not spent; free the lease so the next attempt need not wait for it, and let the caller see why.
      await this.releaseQuietly();
      throw error;
    }
    if (issued.memberId !== this.key.memberId || (issued.userId !== 0 && issued.userId !== this.key.userId)) {
      // Never store tokens of another portal (or user) under this key, whatever the server says.
      this.deps.logger.error('refresh answer names another portal', {
        memberId: this.key.memberId,
        userId: this.key.userId,
      });
      return this.failed(held, tookOver, 'member_mismatch', OWN_ERROR_CODES.memberMismatch, undefined);
    }
    return this.store(held, { ...issued, userId: this.key.userId });
  }

  /**
   * Writes a received pair on its own retry budget. A write that fails in any way is followed by a
   * consistent re-read before anything is concluded: the pair may have landed (its answer lost), a
   * newer chain may have replaced the one we advanced, the token set may be gone (an uninstall). Only a
   * read that still shows the spent token proves the pair is not stored. When every attempt fails, the
   * pair is parked.
   */
  private async store(held: TokenSet, issued: IssuedTokens): Promise<RefreshOutcome | undefined> {
    const refreshExpiresAt = issued.refreshIssuedAt + this.deps.settings.refreshTokenLifetimeMs;
    let lastError: unknown;
    /** Whether a read has shown the spent token still stored after a failed write. */
    let confirmedNotStored = false;
    for (let attempt = 1; attempt <= this.deps.settings.writeAttempts; attempt += 1) {
      if (attempt > 1) await this.sleep(backoffDelayMs(attempt - 1, WRITE_RETRY, this.random));
      const now = this.deps.clock();
      try {
        const saved = await this.deps.repository.completeRefresh(this.key, {
          owner: this.owner,
          usedRefreshToken: held.refreshToken,
          issued,
          refreshExpiresAt,
          nextRefreshAt: this.nextDue(issued.accessExpiresAt, refreshExpiresAt, held.lastUsedAt, now),
          runRefreshes: this.runRefreshes(held, now, issued.accessExpiresAt),
          now,
        });
        return this.stored(held, saved);
      } catch (error) {
        if (error instanceof PortalNotFoundError) throw error;
        lastError = error;
      }
      const seen = await this.whereIsThePair(held, issued);
      if (seen.kind === 'stored') return this.stored(held, seen.tokenSet, { confirmedByRead: true });
      if (seen.kind === 'superseded') return undefined;
      if (seen.kind === 'not_stored') confirmedNotStored = true;
    }
    return this.lostWrite(held, issued, refreshExpiresAt, lastError, confirmedNotStored);
  }

  /** What a consistent re-read says about a pair whose write failed. */
  private async whereIsThePair(
    held: TokenSet,
    issued: IssuedTokens,
  ): Promise<
    | { readonly kind: 'stored'; readonly tokenSet: TokenSet }
    | { readonly kind: 'not_stored' | 'unknown' | 'superseded' }
  > {
    let current: TokenSet | undefined;
    try {
      current = await this.deps.repository.getTokenSet(this.key);
    } catch {
      // A failed read proves nothing either way.
      return { kind: 'unknown' };
    }
    // Deleted meanwhile: an uninstall removes every token set of the portal, and the pair with it.
    if (current === undefined) throw new PortalNotFoundError(this.key.memberId, this.key.userId);
    if (current.refreshToken === issued.refreshToken) return { kind: 'stored', tokenSet: current };
    if (current.refreshToken === held.refreshToken) return { kind: 'not_stored' };
    // A newer chain (an install, an authorization) replaced the one we advanced: it wins.
    this.deps.logger.warn('refreshed pair superseded by a newer chain', {
      memberId: this.key.memberId,
      userId: this.key.userId,
    });
    return { kind: 'superseded' };
  }

  /**
   * The open run's refresh count after a refresh at `now`; notes the new run a refresh after a gap
   * starts, for `recordNewRun` once the pair is stored. A history still kept on the token set itself
   * (an older item) is moved to its own item by that write.
   */
  private runRefreshes(held: TokenSet, now: EpochMs, accessExpiresAt: EpochMs): number {
    if (held.history === undefined && extendsOpenRun(held, now)) {
      this.newRun = undefined;
      return (held.runRefreshes ?? 0) + 1;
    }
    this.newRun = { at: now, accessExpiresAt };
    // A history kept on the token set may end with a run this refresh extends.
    const last = withRefresh(held.history, this.newRun).at(-1);
    return last?.kind === 'access' ? last.refreshes : 1;
  }

  /** Records the run a stored pair started (a refresh after a gap) in the history; nothing for a routine refresh. */
  private async recordNewRun(held: TokenSet): Promise<void> {
    const run = this.newRun;
    this.newRun = undefined;
    if (run !== undefined) await recordHistory(this.key, held, (h) => withRefresh(h, run), this.historyDeps());
  }

  private historyDeps() {
    return { store: this.deps.repository, logger: this.deps.logger, now: this.deps.clock };
  }

  /** The pair is in the table: count it, say it, return it. */
  private async stored(
    held: TokenSet,
    saved: TokenSet,
    options: { readonly confirmedByRead?: boolean } = {},
  ): Promise<RefreshOutcome> {
    await this.recordNewRun(held);
    this.deps.metrics.count(METRIC_NAMES.tokensRefreshed);
    this.deps.logger.info('tokens refreshed', {
      memberId: this.key.memberId,
      userId: this.key.userId,
      version: saved.version,
      ...(options.confirmedByRead === true ? { confirmedByRead: true } : {}),
    });
    // A write whose answer was lost landed but did not release the lease in its own answer: it did
    // release it (completeRefresh removes the lease), so nothing is left to free.
    await this.transition(
      held,
      saved.status,
      held.status === 'active' ? NOTIFICATION_REASONS.refreshed : NOTIFICATION_REASONS.refreshedAfterFailure,
    );
    return { kind: 'refreshed', tokenSet: saved };
  }

  /**
   * The server has spent the old refresh token and no write of the new pair succeeded: park the pair (a
   * separate item, its own attempts), then tell what happened — only what a read confirmed. Ends in
   * exactly one of: the pair found stored after all; parked (a lost write, reported once confirmed);
   * neither, reported as a lost pair.
   */
  private async lostWrite(
    held: TokenSet,
    issued: IssuedTokens,
    refreshExpiresAt: number,
    cause: unknown,
    confirmedNotStored: boolean,
  ): Promise<RefreshOutcome | undefined> {
    const record: RecoveryRecord = {
      memberId: this.key.memberId,
      userId: this.key.userId,
      usedRefreshToken: held.refreshToken,
      issued,
      refreshExpiresAt,
      owner: this.owner,
      savedAt: this.deps.clock(),
    };
    let parked = false;
    for (let attempt = 1; attempt <= this.deps.settings.writeAttempts && !parked; attempt += 1) {
      if (attempt > 1) await this.sleep(backoffDelayMs(attempt - 1, WRITE_RETRY, this.random));
      let outcome: ParkOutcome;
      try {
        outcome = await this.deps.recovery.save(record);
      } catch (error) {
        this.deps.logger.warn('parking the refreshed pair failed', {
          memberId: this.key.memberId,
          userId: this.key.userId,
          attempt,
          error,
        });
        continue;
      }
      if (outcome !== 'not_needed') {
        parked = true;
        break;
      }
      // The token set no longer holds the spent token: the pair landed, a newer chain won, or the
      // portal is gone. A read tells which; none of them is a loss.
      const seen = await this.whereIsThePair(held, issued);
      if (seen.kind === 'stored') return this.stored(held, seen.tokenSet, { confirmedByRead: true });
      if (seen.kind === 'superseded') return undefined;
      if (seen.kind === 'not_stored') continue;
      await this.releaseQuietly();
      throw new TokenRefreshError(this.key, 'transient', held.status, undefined, {
        cause: cause instanceof Error ? cause : undefined,
        details: { code: OWN_ERROR_CODES.writeUnconfirmed },
      });
    }

    if (parked) {
      // Read once more: the write may have landed after all (then the park is stale), or the token set
      // may have been concluded dead meanwhile (a takeover's grace ran out first): revive it now.
      const seen = await this.whereIsThePair(held, issued);
      if (seen.kind === 'stored') {
        await this.deps.recovery.remove(this.key, held.refreshToken).catch(() => undefined);
        return this.stored(held, seen.tokenSet, { confirmedByRead: true });
      }
      if (seen.kind === 'not_stored' || confirmedNotStored) {
        await this.report(held, 'lost_write', NOTIFICATION_REASONS.parkedForRecovery, cause, { parked: true });
        const current = await this.deps.repository.getTokenSet(this.key).catch(() => undefined);
        if (current?.status === 'reauth_required' && current.refreshToken === held.refreshToken) {
          await this.applyParkedPair(current, record);
          if (this.recovered)
            return { kind: 'recovered', tokenSet: (await this.deps.repository.getTokenSet(this.key)) ?? current };
        }
      } else {
        // Parked, but no read said whether the write landed: the next attempt finds out (it applies the
        // pair, or finds it stored). Nothing is reported that might not be true.
        this.deps.metrics.count(METRIC_NAMES.writeUnconfirmed);
        this.deps.logger.warn('refreshed pair parked; whether its write landed is unknown', {
          memberId: this.key.memberId,
          userId: this.key.userId,
          error: cause,
        });
      }
      await this.releaseQuietly();
      throw new TokenRefreshError(this.key, 'write_failed', held.status, undefined, {
        cause: cause instanceof Error ? cause : undefined,
        details: { parked: true },
      });
    }

    // Neither stored nor parked. Unless a read finds the pair stored, the chain is lost: say so, whether
    // or not a read could confirm it (silence would be worse than a false alarm here).
    const seen = await this.whereIsThePair(held, issued);
    if (seen.kind === 'stored') return this.stored(held, seen.tokenSet, { confirmedByRead: true });
    if (seen.kind === 'superseded') return undefined;
    await this.report(
      held,
      'lost_write',
      seen.kind === 'not_stored' || confirmedNotStored
        ? NOTIFICATION_REASONS.pairLost
        : NOTIFICATION_REASONS.pairLostUnconfirmed,
      cause,
      { parked: false },
    );
    await this.releaseQuietly();
    throw new TokenRefreshError(this.key, 'write_failed', held.status, undefined, {
      cause: cause instanceof Error ? cause : undefined,
      details: { parked: false },
    });
  }

  /** Logs, counts and notifies a lost write. */
  private async report(
    held: TokenSet,
    event: 'lost_write',
    reason: string,
    cause: unknown,
    details: { readonly parked: boolean },
  ): Promise<void> {
    this.deps.logger.error(
      details.parked
        ? 'refreshed pair not stored: parked for recovery'
        : 'refreshed pair not stored and not parked: chain lost',
      { memberId: this.key.memberId, userId: this.key.userId, parked: details.parked, reason, error: cause },
    );
    this.deps.metrics.count(METRIC_NAMES.lostWrite, 1, { parked: String(details.parked) });
    await this.notify(event, held, held.status, reason);
  }

  /**
   * A failed attempt. `invalid_grant` first re-reads (a changed token means another worker won) and
   * looks for a parked pair; everything else goes through the taxonomy.
   */
  private async failed(
    held: TokenSet,
    tookOver: boolean,
    category: RefreshFailureCategory,
    code: string,
    error: BitrixOAuthError | undefined,
    cause: unknown = error,
  ): Promise<RefreshOutcome | undefined> {
    if (category === 'invalid_grant') {
      let current: TokenSet | undefined;
      let parked: RecoveryRecord | undefined;
      try {
        current = await this.deps.repository.getTokenSet(this.key);
        if (current !== undefined && current.refreshToken === held.refreshToken) {
          parked = await this.deps.recovery.get(this.key, held.refreshToken);
        }
      } catch (readError) {
        // Without these reads nothing can be concluded about the chain: a transient failure, tried again.
        return this.failed(held, tookOver, 'transient', OWN_ERROR_CODES.recoveryUnreadable, undefined, readError);
      }
      if (current === undefined) throw new PortalNotFoundError(this.key.memberId, this.key.userId);
      if (current.refreshToken !== held.refreshToken) {
        // Another worker won the race; its tokens are stored. Not a failure.
        await this.releaseQuietly();
        return undefined;
      }
      if (parked !== undefined) {
        // A parked pair stored now: decide again on it (its access token may be too old for the caller).
        await this.applyParkedPair(held, parked);
        return undefined;
      }
    }
    const now = this.deps.clock();
    const appNotInstalled = category === 'invalid_client' && (await this.appNotInstalled(held, now));
    const decision = decideFailure(
      { category, status: held.status, consecutiveFailures: held.consecutiveFailures, tookOver, appNotInstalled, now },
      this.deps.settings.failures,
      this.random,
    );
    const failure: FailureRecord = {
      category,
      code: decision.verdict === 'grace' ? OWN_ERROR_CODES.invalidGrantAfterTakeover : code,
      message: (error?.errorDescription ?? failureMessage(code)).slice(0, 200),
      at: now,
    };
    try {
      await this.deps.repository.recordFailure(this.key, {
        owner: this.owner,
        usedRefreshToken: held.refreshToken,
        failure,
        status: decision.status,
        consecutiveFailures: decision.consecutiveFailures,
        nextRefreshAt: decision.nextRefreshAt,
        now,
      });
    } catch (writeError) {
      if (writeError instanceof TokenConflictError) {
        // The tokens or the lease changed under us (a late writer landed): decide again on what is stored.
        await this.releaseQuietly();
        return undefined;
      }
      // The write may have landed with its answer lost: then the status changed and must be told.
      const landed = await this.failureLanded(held, failure, decision.status);
      if (landed === 'not_landed' || (landed === 'unknown' && decision.status === held.status)) {
        await this.releaseQuietly();
        throw writeError;
      }
      if (landed === 'unknown') {
        // No read could tell, and the status was to change: saying so is better than a silent change.
        // Our lease goes either way (a no-op if the write landed and removed it).
        await this.releaseQuietly();
        this.deps.logger.warn('failure recorded without an answer; reporting its status change', {
          memberId: this.key.memberId,
          userId: this.key.userId,
          error: writeError,
        });
      }
    }
    await recordHistory(
      this.key,
      held,
      (h) => withFailure(h, { at: now, category, code: failure.code, status: decision.status }),
      this.historyDeps(),
    );
    this.deps.metrics.count(METRIC_NAMES.refreshFailed, 1, { category });
    const log = {
      memberId: this.key.memberId,
      userId: this.key.userId,
      category,
      code,
      verdict: decision.verdict,
      error,
    };
    if (decision.verdict === 'retry') this.deps.logger.warn('refresh failed, will retry', log);
    else
      this.deps.logger.error(
        decision.verdict === 'dead'
          ? 'refresh failed, chain needs a person'
          : 'refresh failed after takeover, grace period',
        log,
      );
    await this.transition(
      held,
      decision.status,
      appNotInstalled ? NOTIFICATION_REASONS.appNotInstalled : failureReason(held, category, code),
    );
    throw new TokenRefreshError(this.key, category, decision.status, decision.nextRefreshAt, {
      cause: cause instanceof Error ? cause : undefined,
    });
  }

  /**
   * Whether an `invalid_client` refusal says the app was removed from the portal rather than that our
   * credentials are wrong: they were accepted since this token set's previous refusal, or (proving an
   * uninstall) within the last hour.
   */
  private async appNotInstalled(held: TokenSet, now: EpochMs): Promise<boolean> {
    const refusedBefore = held.status === 'invalid_client' ? held.lastFailure?.at : undefined;
    const proofSince =
      this.request.reason === 'uninstall_proof' ? now - UNINSTALL_PROOF_CREDENTIALS_WINDOW_MS : undefined;
    const since = [refusedBefore, proofSince].filter((at): at is number => at !== undefined);
    // Either condition is "accepted after some instant": one read answers both, from the earlier one.
    return since.length > 0 && credentialsAcceptedSince(this.deps.credentials, Math.min(...since));
  }

  /**
   * Whether a failure's write that ended in an error (timeout, 5xx, reset) landed: a consistent re-read
   * (up to three) finds our failure record stored and our lease gone with it, or our lease still held
   * (nothing landed). Reads that all fail say `unknown`.
   */
  private async failureLanded(
    held: TokenSet,
    failure: FailureRecord,
    status: TokenStatus,
  ): Promise<'landed' | 'not_landed' | 'unknown'> {
    for (let read = 1; read <= 3; read += 1) {
      let current: TokenSet | undefined;
      try {
        current = await this.deps.repository.getTokenSet(this.key);
      } catch {
        continue;
      }
      const recorded =
        current !== undefined &&
        current.refreshToken === held.refreshToken &&
        current.leaseOwner !== this.owner &&
        current.status === status &&
        current.lastFailure?.at === failure.at &&
        current.lastFailure.code === failure.code;
      return recorded ? 'landed' : 'not_landed';
    }
    return 'unknown';
  }

  /**
   * Stores a parked pair obtained with the refresh token the token set still holds, under our lease.
   * A conflict means somebody else changed the token set (decide again); any other failure frees the
   * lease and fails this attempt as transient (the pair stays parked for the next one).
   */
  private async applyParkedPair(held: TokenSet, parked: RecoveryRecord): Promise<void> {
    const now = this.deps.clock();
    let saved: TokenSet;
    try {
      saved = await this.deps.repository.completeRefresh(this.key, {
        owner: this.owner,
        usedRefreshToken: held.refreshToken,
        issued: parked.issued,
        refreshExpiresAt: parked.refreshExpiresAt,
        nextRefreshAt: this.nextDue(parked.issued.accessExpiresAt, parked.refreshExpiresAt, held.lastUsedAt, now),
        runRefreshes: this.runRefreshes(held, now, parked.issued.accessExpiresAt),
        now,
      });
    } catch (error) {
      this.newRun = undefined;
      if (error instanceof TokenConflictError) return;
      await this.releaseQuietly();
      throw new TokenRefreshError(this.key, 'transient', held.status, undefined, {
        cause: error instanceof Error ? error : undefined,
        details: { code: OWN_ERROR_CODES.recoveryUnapplied },
      });
    }
    await this.recordNewRun(held);
    await this.deps.recovery.remove(this.key, parked.usedRefreshToken).catch(() => undefined);
    this.recovered = true;
    this.deps.metrics.count(METRIC_NAMES.recoveryApplied);
    this.deps.logger.warn('parked pair applied', {
      memberId: this.key.memberId,
      userId: this.key.userId,
      parkedAt: parked.savedAt,
    });
    await this.notify('recovered', held, saved.status, NOTIFICATION_REASONS.parkedPairApplied);
  }

  private async surfaceInterrupted(
    held: TokenSet,
    previous: { readonly owner: string; readonly leaseUntil: number },
  ): Promise<void> {
    this.deps.logger.error('refresh interrupted: lease expired without release', {
      memberId: this.key.memberId,
      userId: this.key.userId,
      previousOwner: previous.owner,
      leaseUntil: previous.leaseUntil,
    });
    this.deps.metrics.count(METRIC_NAMES.refreshInterrupted);
    await this.notify('refresh_interrupted', held, held.status, NOTIFICATION_REASONS.leaseExpiredUnreleased);
  }

  /** Publishes a status transition (only when the status changed; the conditional write made us its only author). */
  private async transition(held: TokenSet, to: TokenStatus, reason: string): Promise<void> {
    if (to === held.status) return;
    const event: TokenStatusEvent | undefined =
      to === 'active'
        ? 'recovered'
        : to === 'degraded' ||
            to === 'reauth_required' ||
            to === 'payment_required' ||
            to === 'invalid_client' ||
            to === 'uninstalled' ||
            to === 'portal_deleted'
          ? to
          : undefined;
    if (event !== undefined) await this.notify(event, held, to, reason);
  }

  private async notify(event: TokenStatusEvent, held: TokenSet, to: TokenStatus, reason: string): Promise<void> {
    await notifyOperators(
      {
        event,
        memberId: this.key.memberId,
        userId: this.key.userId,
        domain: held.domain,
        from: held.status,
        to,
        reason,
        at: new Date(this.deps.clock()).toISOString(),
      },
      this.deps,
    );
  }

  private nextDue(
    accessExpiresAt: number,
    refreshExpiresAt: number,
    lastUsedAt: number | undefined,
    now: number,
  ): number {
    return nextRefreshAt(
      { accessExpiresAt, refreshExpiresAt, lastUsedAt },
      now,
      this.deps.settings.policy,
      this.random,
    );
  }

  private async releaseQuietly(): Promise<void> {
    try {
      await this.deps.repository.releaseLease(this.key, this.owner);
    } catch (error) {
      // It expires on its own; the next taker will report the takeover.
      this.deps.logger.warn('lease release failed', { memberId: this.key.memberId, userId: this.key.userId, error });
    }
  }
}

/**
 * The notification's reason: the server's code, refined where the history explains it: an
 * `invalid_grant` after a takeover's grace period, or right after a transient failure (a timeout or
 * 5xx the server may have processed before the answer was lost, which spent the token).
 */
function failureReason(held: TokenSet, category: RefreshFailureCategory, code: string): string {
  if (category !== 'invalid_grant') return code;
  const previous = held.lastFailure;
  if (previous?.code === OWN_ERROR_CODES.invalidGrantAfterTakeover) {
    return NOTIFICATION_REASONS.invalidGrantAfterInterruptedRefresh;
  }
  if (previous !== undefined && previous.category === 'transient') {
    return NOTIFICATION_REASONS.invalidGrantAfterTransientFailure;
  }
  return code;
}

/** The stored message of a failure that came with no answer from the server. */
function failureMessage(code: string): string {
  switch (code) {
    case OWN_ERROR_CODES.memberMismatch:
      return 'refresh answer for another portal';
    case OWN_ERROR_CODES.recoveryUnreadable:
      return 'the token set or its parked pair could not be read';
    default:
      return code;
  }
}
