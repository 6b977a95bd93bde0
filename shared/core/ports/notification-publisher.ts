import type { TokenStatus } from '#shared/core/domain/token-set.js';

/**
 * What happened to a token set, as operators are told. Status changes (`degraded`,
 * `reauth_required`, `recovered`, `payment_required`, `invalid_client`, `uninstalled`, `portal_deleted`) are published once per
 * transition; incidents (`refresh_interrupted`: a refresh died holding its lease; `lost_write`: a new
 * pair was received but could not be stored; `install_lost`: an install claim ended without its
 * tokens being stored; `application_token_refused`: a verified claim's new application token was not
 * stored, its user not shown to be an administrator) once per occurrence.
 */
export type TokenStatusEvent =
  | 'degraded'
  | 'reauth_required'
  | 'recovered'
  | 'payment_required'
  | 'invalid_client'
  | 'uninstalled'
  | 'portal_deleted'
  | 'refresh_interrupted'
  | 'lost_write'
  | 'install_lost'
  | 'application_token_refused';

/**
 * Reasons the service gives for its own incidents and transitions (`reason` of a notification);
 * otherwise the reason is the authorization server's error code (`invalid_grant`, `http_503`, …).
 */
export const NOTIFICATION_REASONS = {
  /** A refresh succeeded. */
  refreshed: 'refreshed',
  /**
   * `invalid_client` again after our credentials were accepted elsewhere since the previous one: the
   * app is no longer installed on the portal.
   */
  appNotInstalled: 'app_not_installed',
  /** A refresh succeeded after failures (`degraded` → `active`). */
  refreshedAfterFailure: 'refreshed_after_failure',
  /** A pair whose write had failed was applied from the recovery store. */
  parkedPairApplied: 'parked_pair_applied',
  /** The refreshed pair could not be stored and was parked: it is applied on the next attempt. */
  parkedForRecovery: 'parked_for_recovery',
  /** The refreshed pair could be neither stored nor parked: the chain is lost. */
  pairLost: 'pair_lost',
  /**
   * The refreshed pair could be neither stored nor parked, and no read could tell whether a write of it
   * landed: the chain is probably lost (reported rather than left unsaid).
   */
  pairLostUnconfirmed: 'pair_lost_unconfirmed',
  /** A refresh died holding its lease (process killed, timed out). */
  leaseExpiredUnreleased: 'lease_expired_unreleased',
  /** `invalid_grant` after the grace period of a taken-over lease: the interrupted refresh spent the token. */
  invalidGrantAfterInterruptedRefresh: 'invalid_grant_after_interrupted_refresh',
  /** `invalid_grant` right after a timeout or 5xx the server may have processed (spending the token). */
  invalidGrantAfterTransientFailure: 'invalid_grant_after_transient_failure',
  /**
   * An install claim's refresh token was spent by an attempt whose answer never arrived (timeout,
   * dropped connection, killed process): the server refuses it now and the pair it issued is gone.
   */
  verificationAnswerLost: 'verification_answer_lost',
  /** An install claim's verified pair could be neither stored nor kept in the parked claim. */
  installPairUnsaved: 'install_pair_unsaved',
  /**
   * An install event could not be parked (DynamoDB failed): it was answered 503 with nothing spent, but
   * Bitrix24 does not deliver an event again, so the portal's tokens did not arrive.
   */
  claimUnsaved: 'claim_unsaved',
  /** An install claim could not be verified within `PARKED_EVENT_MAX_AGE_DAYS`. */
  claimExpired: 'claim_expired',
  /** An install claim waited for working client credentials longer than `PARKED_EVENT_MAX_AGE_DAYS`. */
  credentialsRejected: 'credentials_rejected',
  /** A verified claim brought a new application token, but its user is not an administrator of the portal. */
  notAdmin: 'not_admin',
  /** A verified claim brought a new application token, and the portal could not say whether its user is an administrator. */
  adminUnconfirmed: 'admin_unconfirmed',
} as const;

/** One notification. Carries no secret: no token, code, application token or client secret. */
export interface TokenStatusChange {
  readonly event: TokenStatusEvent;
  readonly memberId: string;
  readonly userId: number;
  /** Portal host. */
  readonly domain: string;
  /** Status before; `none` where there is no token set (an install claim that was never stored). */
  readonly from: TokenStatus | 'none';
  /** Status after (the same as `from` for incidents). */
  readonly to: TokenStatus | 'none';
  /** Machine-readable cause, e.g. `invalid_grant`, `http_503`, `lease_expired_unreleased`. */
  readonly reason: string;
  /** ISO 8601 instant. */
  readonly at: string;
}

/**
 * Tells operators about token-set status changes (EventBridge in AWS, a log line locally).
 *
 * @example
 * await notifications.publish({ event: 'reauth_required', memberId, userId: 1, domain, from: 'active',
 *   to: 'reauth_required', reason: 'invalid_grant', at: new Date(now).toISOString() });
 */
export interface NotificationPublisher {
  publish(change: TokenStatusChange): Promise<void>;
}
