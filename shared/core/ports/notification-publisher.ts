import type { TokenStatus } from '#shared/core/domain/token-set.js';

/**
 * What happened to a token set, as operators are told. Status changes (`degraded`,
 * `reauth_required`, `recovered`, `payment_required`, `invalid_client`) are published once per
 * transition; incidents (`refresh_interrupted`: a refresh died holding its lease; `lost_write`: a new
 * pair was received but could not be stored) once per occurrence.
 */
export type TokenStatusEvent =
  | 'degraded'
  | 'reauth_required'
  | 'recovered'
  | 'payment_required'
  | 'invalid_client'
  | 'refresh_interrupted'
  | 'lost_write';

/** One notification. Carries no secret: no token, code, application token or client secret. */
export interface TokenStatusChange {
  readonly event: TokenStatusEvent;
  readonly memberId: string;
  readonly userId: number;
  /** Portal host. */
  readonly domain: string;
  /** Status before. */
  readonly from: TokenStatus;
  /** Status after (the same as `from` for incidents). */
  readonly to: TokenStatus;
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
