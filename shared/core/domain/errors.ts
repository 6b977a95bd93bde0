/**
 * The one error family of the service. Every class sets `name` explicitly (survives minification),
 * carries a machine-readable `code`, and serialises without secrets (`toJSON`).
 */

import type { RefreshFailureCategory } from './refresh-policy.js';
import type { TokenStatus } from './token-set.js';

export type AppErrorCode =
  | 'validation'
  | 'config'
  | 'not_found'
  | 'conflict'
  | 'lease_held'
  | 'forbidden'
  | 'oauth'
  | 'rest'
  | 'state'
  | 'unavailable'
  | 'corrupt';

/**
 * Error codes this service sets itself where the other side gave none: transport faults, answers it
 * cannot read, and its own checks. They appear as `error` of `BitrixOAuthError` / `BitrixRestError`,
 * as `lastFailure.code` of a token set and as `lastError` of a parked claim, next to the codes
 * Bitrix24 sends (`invalid_grant`, `QUERY_LIMIT_EXCEEDED`, …). An HTTP status without a code becomes
 * `http_{status}` (`httpStatusCode`).
 */
export const OWN_ERROR_CODES = {
  /** No answer within the timeout. */
  timeout: 'timeout',
  /** The connection failed or broke before an answer arrived. */
  networkError: 'network_error',
  /** An answer that is not JSON, or lacks what the protocol always sends. */
  malformedResponse: 'malformed_response',
  /** A portal that keeps redirecting (more than a rename would). */
  tooManyRedirects: 'too_many_redirects',
  /** A redirect somewhere that is not the portal's REST API. */
  unexpectedRedirect: 'unexpected_redirect',
  /** A batch command that never ran because an earlier one failed with `halt`. */
  notExecuted: 'not_executed',
  /** The authorization server's answer names another portal (or user) than asked for. */
  memberMismatch: 'member_mismatch',
  /** `invalid_grant` right after taking over an interrupted refresh's lease: undecided until the grace period ends. */
  invalidGrantAfterTakeover: 'invalid_grant_after_takeover',
  /** A refresh "succeeded" with an access token that had already expired. */
  expiredAfterRefresh: 'expired_after_refresh',
  /** Something of ours failed (credentials unreadable, a bug): not the other side's fault. */
  internalError: 'internal_error',
  /** After an `invalid_grant`, the token set or its parked pair could not be read: nothing concluded. */
  recoveryUnreadable: 'recovery_unreadable',
  /** A parked pair could not be written to its token set: it stays parked for the next attempt. */
  recoveryUnapplied: 'recovery_unapplied',
  /** A refreshed pair's writes failed and no read could tell whether one landed: tried again later. */
  writeUnconfirmed: 'write_unconfirmed',
  /**
   * An install claim's token was refused after an earlier attempt that may have spent it: undecided
   * until that attempt's pair had time to be kept.
   */
  invalidGrantInDoubt: 'invalid_grant_in_doubt',
} as const;

export type OwnErrorCode = (typeof OWN_ERROR_CODES)[keyof typeof OWN_ERROR_CODES];

/** The code of an answer that carried an unexpected HTTP status and no error code of its own. */
export function httpStatusCode(status: number): `http_${number}` {
  return `http_${status}`;
}

export interface AppErrorOptions extends ErrorOptions {
  /** Extra fields that are safe to log and to show (never tokens or secrets). */
  readonly details?: Readonly<Record<string, string | number | boolean | undefined>>;
}

export class AppError extends Error {
  readonly code: AppErrorCode;
  readonly details: Readonly<Record<string, string | number | boolean | undefined>>;

  constructor(code: AppErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.details = options.details ?? {};
  }

  /** Safe to log: no stack of the cause, no secrets. */
  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, ...this.details };
  }
}

/** Input that does not meet the contract: the caller's fault, answered with a 4xx. */
export class ValidationError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super('validation', message, options);
    this.name = 'ValidationError';
  }
}

/** A missing or malformed setting: the deployment's fault, raised at cold start. */
export class ConfigError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super('config', message, options);
    this.name = 'ConfigError';
  }
}

/** No installation or token set for that portal (and user). */
export class PortalNotFoundError extends AppError {
  constructor(memberId: string, userId?: number) {
    super('not_found', userId === undefined ? 'portal not found' : 'token set not found', {
      details: { memberId, userId },
    });
    this.name = 'PortalNotFoundError';
  }
}

/**
 * A conditional write lost: somebody else changed the item first. Re-read and decide again; never
 * overwrite.
 */
export class TokenConflictError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super('conflict', message, options);
    this.name = 'TokenConflictError';
  }
}

/** Another worker holds the refresh lease of that token set. */
export class LeaseHeldError extends AppError {
  readonly leaseUntil: number;

  constructor(memberId: string, userId: number, leaseUntil: number) {
    super('lease_held', 'another worker is refreshing this token set', { details: { memberId, userId, leaseUntil } });
    this.name = 'LeaseHeldError';
    this.leaseUntil = leaseUntil;
  }
}

/**
 * An install claim could not be stored on receipt. Nothing was spent (the claim is verified only
 * once stored), so the tokens Bitrix24 sent are still good: answered 503.
 */
export class ClaimNotSavedError extends AppError {
  constructor(memberId: string, options: AppErrorOptions = {}) {
    super('unavailable', 'the install could not be saved; nothing was used: open the app or send the event again', {
      ...options,
      details: { ...options.details, memberId },
    });
    this.name = 'ClaimNotSavedError';
  }
}

/** A request proved it is not allowed to do what it asks (forged event, wrong application token). */
export class ForbiddenError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super('forbidden', message, options);
    this.name = 'ForbiddenError';
  }
}

/** OAuth `state` unknown, expired, already used or not bound to this browser. */
export class OAuthStateError extends AppError {
  readonly reason: 'unknown' | 'expired' | 'browser_mismatch';

  constructor(reason: 'unknown' | 'expired' | 'browser_mismatch') {
    super('state', `authorization state is ${reason === 'browser_mismatch' ? 'not bound to this browser' : reason}`, {
      details: { reason },
    });
    this.name = 'OAuthStateError';
    this.reason = reason;
  }
}

/**
 * How a failed call to the authorization server is handled. `transient` keeps the old tokens and
 * retries later; the others need a person.
 */
export type OAuthFailureCategory =
  | 'invalid_grant'
  | 'invalid_client'
  | 'payment_required'
  | 'portal_deleted'
  | 'expired_code'
  | 'invalid_request'
  | 'transient';

/** The authorization server said no, or could not be understood. */
export class BitrixOAuthError extends AppError {
  /** The server's `error` code (`invalid_grant`, `PAYMENT_REQUIRED`, …), or ours for transport faults. */
  readonly error: string;
  readonly errorDescription: string;
  /** HTTP status, 0 when no answer arrived. */
  readonly status: number;
  readonly category: OAuthFailureCategory;

  constructor(error: string, errorDescription: string, status: number, options: AppErrorOptions = {}) {
    super('oauth', `authorization server answered ${error}${errorDescription ? `: ${errorDescription}` : ''}`, {
      ...options,
      details: { ...options.details, error, status },
    });
    this.name = 'BitrixOAuthError';
    this.error = error;
    this.errorDescription = errorDescription;
    this.status = status;
    this.category = categorizeOAuthError(error, status);
  }
}

/** Maps the server's error code (and status) to what we do about it. Unknown codes are transient. */
export function categorizeOAuthError(error: string, status: number): OAuthFailureCategory {
  switch (error) {
    case 'invalid_grant':
    case 'bad_verification_code':
      return 'invalid_grant';
    case 'invalid_client':
      return 'invalid_client';
    case 'PAYMENT_REQUIRED':
      return 'payment_required';
    // Decided by the code, whatever the HTTP status (undocumented at the token endpoint).
    case 'PORTAL_DELETED':
      return 'portal_deleted';
    case 'expired_token':
      return 'expired_code';
    case 'invalid_request':
    case 'invalid_scope':
    case 'insufficient_scope':
      return 'invalid_request';
    default:
      // Unknown codes, 5xx, 429, timeouts and malformed answers: keep the tokens and try again later.
      // A false "transient" costs a retry; a false "dead" costs a portal.
      void status;
      return 'transient';
  }
}

/**
 * Why no access token can be handed out for a token set. `reauth_required`, `payment_required`,
 * `invalid_client` and `uninstalled` mirror the token set's status and need a person (open the app,
 * pay, fix the app's credentials, reinstall); `refresh_failed` means the token expired and the refresh
 * failed for a transient reason (retry later).
 */
export type TokenUnavailableReason =
  | 'reauth_required'
  | 'payment_required'
  | 'invalid_client'
  | 'uninstalled'
  | 'portal_deleted'
  | 'refresh_failed';

/** The portal (or user) is known, but its tokens cannot be used now; `reason` says why. */
export class TokenUnavailableError extends AppError {
  readonly reason: TokenUnavailableReason;
  readonly memberId: string;
  readonly userId: number | undefined;

  constructor(reason: TokenUnavailableReason, memberId: string, userId?: number, options: AppErrorOptions = {}) {
    super('unavailable', `no usable token: ${reason.replaceAll('_', ' ')}`, {
      ...options,
      details: { ...options.details, reason, memberId, userId },
    });
    this.name = 'TokenUnavailableError';
    this.reason = reason;
    this.memberId = memberId;
    this.userId = userId;
  }
}

/**
 * A portal's REST API refused a call (docs/PROTOCOL.md §3.2), or the call failed on the way (`error` is
 * then ours: `timeout`, `network_error`, `malformed_response`, `too_many_redirects`, `not_executed`;
 * `status` 0 when no answer arrived). Never carries the token or the request body.
 */
export class BitrixRestError extends AppError {
  /** The portal's `error` code (`ACCESS_DENIED`, `QUERY_LIMIT_EXCEEDED`, …) or ours for transport faults. */
  readonly error: string;
  readonly errorDescription: string;
  /** HTTP status, 0 when no answer arrived. */
  readonly status: number;
  /** The REST method called (`crm.lead.list`), or the batch command's method. */
  readonly method: string;

  constructor(error: string, errorDescription: string, status: number, method: string, options: AppErrorOptions = {}) {
    super('rest', `${method} failed: ${error}${errorDescription ? ` (${errorDescription})` : ''}`, {
      ...options,
      details: { ...options.details, error, status, method },
    });
    this.name = 'BitrixRestError';
    this.error = error;
    this.errorDescription = errorDescription;
    this.status = status;
    this.method = method;
  }
}

/**
 * A refresh attempt failed (or is being held back), so the stored tokens may not be usable.
 * `category` says what went wrong (`backoff`: a recent failure's retry time has not come yet, no
 * call was made); `status` is the token set's status after the attempt; `retryAt` (epoch ms) when
 * the refresh path will try again, if it will. A `TokenUnavailableError`, so consumers need one catch.
 */
export class TokenRefreshError extends TokenUnavailableError {
  readonly category: RefreshFailureCategory | 'backoff';
  readonly status: TokenStatus;
  readonly retryAt: number | undefined;

  constructor(
    key: { readonly memberId: string; readonly userId: number },
    category: RefreshFailureCategory | 'backoff',
    status: TokenStatus,
    retryAt: number | undefined,
    options: AppErrorOptions = {},
  ) {
    super(unavailableReason(status), key.memberId, key.userId, {
      ...options,
      details: { ...options.details, category, status, retryAt },
    });
    this.name = 'TokenRefreshError';
    this.category = category;
    this.status = status;
    this.retryAt = retryAt;
  }
}

/** The consumer-facing reason for a token set's status. */
export function unavailableReason(status: TokenStatus): TokenUnavailableReason {
  switch (status) {
    case 'reauth_required':
    case 'payment_required':
    case 'invalid_client':
    case 'uninstalled':
    case 'portal_deleted':
      return status;
    default:
      return 'refresh_failed';
  }
}

/**
 * A stored item that does not have the shape the service writes: an attribute missing, of the wrong
 * type, or with a value no version of the service writes. `item` names the item (its kind and key)
 * and `attribute` the field; the value itself is never repeated (it may be a token).
 */
export class StoredItemError extends AppError {
  constructor(item: string, attribute: string, problem: string) {
    super('corrupt', `stored ${item}: ${attribute} ${problem}`, { details: { item, attribute } });
    this.name = 'StoredItemError';
  }
}

/** Whether an unknown thrown value is one of ours. */
export function isAppError(value: unknown): value is AppError {
  return value instanceof AppError;
}
