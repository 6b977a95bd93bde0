/**
 * What a consumer gets, and the pure rules that decide it: which token set answers when no user is
 * named, which statuses may hand out a token, how long a process may keep one. The token vendor and
 * the consumer library both follow them.
 */
import { PortalNotFoundError, TokenUnavailableError, ValidationError } from '#shared/core/domain/errors.js';
import type { EpochMs } from '#shared/core/domain/time.js';
import type { Installation, TokenSet, TokenStatus } from '#shared/core/domain/token-set.js';

/**
 * An access token a consumer may use right now, with where to use it. It never contains the refresh
 * token: only the token service advances a refresh chain.
 */
export interface AccessToken {
  /** Goes into the `auth` field of a REST call. Secret: never log it. */
  readonly accessToken: string;
  /** Access-token expiry. */
  readonly expiresAt: EpochMs;
  /** Portal REST base, e.g. `https://portal.bitrix24.com/rest/` (real host; the transport may rewrite it). */
  readonly clientEndpoint: string;
  /** Portal host, e.g. `portal.bitrix24.com`. */
  readonly domain: string;
  readonly memberId: string;
  /** The Bitrix24 user the token acts as. */
  readonly userId: number;
  /**
   * The token set's version. Report it back as `staleVersion` when the portal answers
   * `expired_token` / `invalid_token`, so the service refreshes only if nobody did already.
   */
  readonly version: number;
}

/**
 * What a consumer may read of a token set: the table grants consumers these attributes and no others
 * (never the refresh token; `CONSUMER_READABLE_ATTRIBUTES` in the table schema names them).
 */
export type ReadableTokenSet = Pick<
  TokenSet,
  | 'memberId'
  | 'userId'
  | 'accessToken'
  | 'accessExpiresAt'
  | 'clientEndpoint'
  | 'domain'
  | 'status'
  | 'version'
  | 'nextRefreshAt'
  | 'lastUsedAt'
>;

/** What a consumer may read of an installation: enough to choose the default user and to tell an uninstall. */
export type ReadableInstallation = Pick<Installation, 'memberId' | 'status' | 'installedBy'>;

/** Input of `getAccessToken`. */
export interface GetAccessTokenInput {
  /** Bitrix24 portal id (`member_id`). */
  readonly memberId: string;
  /**
   * Bitrix24 user whose token is wanted. Omitted: the user who installed the app when that token set
   * is usable, otherwise the usable token set with the lowest user id (see `chooseDefaultTokenSet`).
   */
  readonly userId?: number | undefined;
  /**
   * The `version` of a token the portal just refused (`expired_token` / `invalid_token`). The service
   * refreshes only while this version is still the stored one; otherwise it returns the newer token.
   */
  readonly staleVersion?: number | undefined;
}

/** Statuses whose access token may be handed out. */
export const USABLE_STATUSES: ReadonlySet<TokenStatus> = new Set<TokenStatus>(['active', 'degraded']);

const MEMBER_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Checks the input's shape; throws `ValidationError` naming the field. */
export function validateGetAccessTokenInput(input: GetAccessTokenInput): void {
  if (typeof input.memberId !== 'string' || !MEMBER_ID.test(input.memberId)) {
    throw new ValidationError('memberId must be a Bitrix24 member_id', { details: { field: 'memberId' } });
  }
  if (input.userId !== undefined && !(Number.isSafeInteger(input.userId) && input.userId >= 0)) {
    throw new ValidationError('userId must be a non-negative integer', { details: { field: 'userId' } });
  }
  if (input.staleVersion !== undefined && !(Number.isSafeInteger(input.staleVersion) && input.staleVersion >= 0)) {
    throw new ValidationError('staleVersion must be a non-negative integer', { details: { field: 'staleVersion' } });
  }
}

/** Throws the typed error for a token set whose status does not allow handing out its token. */
export function assertUsable(tokenSet: Pick<TokenSet, 'memberId' | 'userId' | 'status'>): void {
  if (USABLE_STATUSES.has(tokenSet.status)) return;
  switch (tokenSet.status) {
    case 'reauth_required':
    case 'payment_required':
    case 'invalid_client':
    case 'uninstalled':
    case 'portal_deleted':
      throw new TokenUnavailableError(tokenSet.status, tokenSet.memberId, tokenSet.userId);
    default:
      // A status added later is not usable until somebody decides it is.
      throw new TokenUnavailableError('reauth_required', tokenSet.memberId, tokenSet.userId, {
        details: { status: String(tokenSet.status) },
      });
  }
}

/**
 * The token set that answers when the consumer names no user:
 * 1. the installing user's (`installation.installedBy`) when its status is usable;
 * 2. otherwise the usable token set with the lowest user id;
 * 3. when none is usable, the installing user's (else the lowest user id's), so its status becomes
 *    the typed error.
 * An uninstalled installation answers `TokenUnavailableError('uninstalled')`; a portal without token
 * sets answers `PortalNotFoundError`.
 */
export function chooseDefaultTokenSet(
  memberId: string,
  installation: Pick<ReadableInstallation, 'status' | 'installedBy'> | undefined,
  tokenSets: readonly Pick<TokenSet, 'memberId' | 'userId' | 'status'>[],
): number {
  if (installation?.status === 'uninstalled') throw new TokenUnavailableError('uninstalled', memberId);
  if (tokenSets.length === 0) throw new PortalNotFoundError(memberId);
  const byUser = [...tokenSets].sort((a, b) => a.userId - b.userId);
  const installer = byUser.find((t) => t.userId === installation?.installedBy);
  if (installer !== undefined && USABLE_STATUSES.has(installer.status)) return installer.userId;
  const usable = byUser.find((t) => USABLE_STATUSES.has(t.status));
  if (usable !== undefined) return usable.userId;
  const first = installer ?? byUser[0];
  if (first === undefined) throw new PortalNotFoundError(memberId);
  return first.userId;
}

/** The consumer's view of a token set: no refresh token, no bookkeeping. */
export function toAccessToken(tokenSet: ReadableTokenSet): AccessToken {
  return Object.freeze({
    accessToken: tokenSet.accessToken,
    expiresAt: tokenSet.accessExpiresAt,
    clientEndpoint: tokenSet.clientEndpoint,
    domain: tokenSet.domain,
    memberId: tokenSet.memberId,
    userId: tokenSet.userId,
    version: tokenSet.version,
  });
}

/** Near the sweep's refresh time, processes re-read at most this often (the sweep runs every few minutes). */
export const NEAR_REFRESH_RECHECK_MS = 10_000;

/**
 * Until when a process may keep a token in memory: min(now + maxAge, expiresAt − margin, the sweep's
 * next refresh of the token set). A refresh kills the old access token, so a token is not kept past the
 * moment the sweep may replace it; once that moment has come, it is re-read every
 * `NEAR_REFRESH_RECHECK_MS` until the sweep has done its work.
 */
export function cacheUntil(
  token: Pick<AccessToken, 'expiresAt'>,
  now: number,
  maxAgeMs: number,
  marginMs: number,
  sweepAt?: number | undefined,
): number {
  const limit = Math.min(now + maxAgeMs, token.expiresAt - marginMs);
  if (sweepAt === undefined) return limit;
  return Math.min(limit, Math.max(sweepAt, now + NEAR_REFRESH_RECHECK_MS));
}
