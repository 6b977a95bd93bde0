import type { EpochMs } from '#shared/core/domain/time.js';
import type { History } from '#shared/core/domain/token-history.js';
/**
 * The domain model: an installation (one per portal, keyed by `member_id`) and its token sets (one per
 * portal and Bitrix24 user). Pure types and functions; no AWS imports.
 */

/**
 * Lifecycle of a token set. Only `active` and `degraded` are refreshed by the sweep (and
 * `payment_required`, rarely, to notice a renewed subscription).
 */
export const TOKEN_STATUSES = [
  /** Tokens work. */
  'active',
  /** Refreshes keep failing for transient reasons; the old tokens are kept and retried. */
  'degraded',
  /** The refresh chain is dead (`invalid_grant`): a user must open the app or authorize again. */
  'reauth_required',
  /** The authorization server answers `PAYMENT_REQUIRED`: the portal's subscription ended. */
  'payment_required',
  /**
   * The authorization server rejects our client id/secret (`invalid_client`). The refresh token was not
   * spent: the token set stays due and comes back once the credentials are fixed.
   */
  'invalid_client',
  /**
   * The app was uninstalled from the portal: by its ONAPPUNINSTALL (tokens deleted), or found by the
   * refresh path (`invalid_client` again after our credentials were accepted since: the app is not
   * installed there any more; the unspent tokens are kept, out of the due index).
   */
  'uninstalled',
  /** The portal itself was deleted (`PORTAL_DELETED`): nothing will ever work again; out of the due index. */
  'portal_deleted',
] as const;

export type TokenStatus = (typeof TOKEN_STATUSES)[number];

/** Statuses the sweep keeps alive (they are in the due index). */
export const REFRESHABLE_STATUSES: ReadonlySet<TokenStatus> = new Set<TokenStatus>([
  'active',
  'degraded',
  'payment_required',
  'invalid_client',
]);

export const INSTALLATION_STATUSES = ['active', 'uninstalled'] as const;

export type InstallationStatus = (typeof INSTALLATION_STATUSES)[number];

/** Where a chain of tokens came from. Each source starts an independent refresh chain. */
export const TOKEN_SOURCES = ['oauth_code', 'install_event', 'install_page', 'refresh', 'import'] as const;

export type TokenSource = (typeof TOKEN_SOURCES)[number];

/** Bitrix24's application status letter: free, demo, trial, paid, local, subscription. */
export type AppStatusLetter = string;

/** The last thing that went wrong for a token set; safe to show (no secrets). */
export interface FailureRecord {
  readonly category: string;
  readonly code: string;
  readonly message: string;
  readonly at: EpochMs;
}

/** Identifies one token set. */
export interface TokenKey {
  readonly memberId: string;
  readonly userId: number;
}

/** A fresh pair of tokens as the authorization server (or an install payload) handed it over. */
export interface IssuedTokens {
  readonly accessToken: string;
  readonly refreshToken: string;
  /** Access-token expiry computed once on receipt. */
  readonly accessExpiresAt: EpochMs;
  /** When the refresh token was issued its 30-day window counts from here. */
  readonly refreshIssuedAt: EpochMs;
  readonly memberId: string;
  readonly userId: number;
  /** Portal REST base, e.g. `https://portal.bitrix24.com/rest/`. */
  readonly clientEndpoint: string;
  /** Authorization server REST base, e.g. `https://oauth.bitrix.info/rest/`. */
  readonly serverEndpoint: string;
  /** Granted scopes, when the source names them (`"app"` from refresh answers is not a scope list). */
  readonly scope?: string | undefined;
  readonly appStatus?: AppStatusLetter | undefined;
}

/** A stored token set: tokens plus bookkeeping. */
export interface TokenSet extends TokenKey {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly accessExpiresAt: EpochMs;
  readonly refreshIssuedAt: EpochMs;
  /** `refreshIssuedAt` + the configured refresh lifetime: when the chain is assumed dead. */
  readonly refreshExpiresAt: EpochMs;
  readonly clientEndpoint: string;
  readonly serverEndpoint: string;
  /** Portal host, derived from `clientEndpoint` (never from a token answer's `domain`). */
  readonly domain: string;
  readonly scope?: string | undefined;
  readonly appStatus?: AppStatusLetter | undefined;
  readonly status: TokenStatus;
  readonly source: TokenSource;
  /** Optimistic-concurrency counter; every write adds one. */
  readonly version: number;
  readonly leaseOwner?: string | undefined;
  readonly leaseUntil?: EpochMs | undefined;
  /** When the sweep should next look at it; absent when not refreshable. */
  readonly nextRefreshAt?: EpochMs | undefined;
  readonly lastRefreshAt?: EpochMs | undefined;
  readonly lastUsedAt?: EpochMs | undefined;
  readonly lastFailure?: FailureRecord | undefined;
  readonly consecutiveFailures: number;
  /**
   * Refreshes of the open access-token run, while the history ends with one (`LiveRun` in
   * `token-history.ts`); the run's other figures are `accessExpiresAt` and `lastRefreshAt`.
   */
  readonly runRefreshes?: number | undefined;
  /**
   * The history as items written before it had an item of its own kept it on the token set; the next
   * change of the timeline moves it there. Absent otherwise: read the history through
   * `TokenRepository.readHistory` (or the listing).
   */
  readonly history?: History | undefined;
  readonly createdAt: EpochMs;
  readonly updatedAt: EpochMs;
}

/** One portal that installed the app. */
export interface Installation {
  readonly memberId: string;
  readonly domain: string;
  readonly clientEndpoint: string;
  readonly serverEndpoint: string;
  readonly status: InstallationStatus;
  /** SHA-256 of the `application_token` (hex). The token itself is never stored. */
  readonly applicationTokenHash?: string | undefined;
  readonly appStatus?: AppStatusLetter | undefined;
  readonly scope?: string | undefined;
  readonly appVersion?: string | undefined;
  /** Bitrix24 user who installed (the admin whose tokens came with the install). */
  readonly installedBy?: number | undefined;
  readonly installedAt: EpochMs;
  readonly uninstalledAt?: EpochMs | undefined;
  readonly version: number;
  readonly updatedAt: EpochMs;
}

/** Portal host (with port when not default) from a REST endpoint URL like `https://x.bitrix24.com/rest/`. */
export function domainFromEndpoint(endpoint: string): string {
  return new URL(endpoint).host;
}

/** Whether the token set's access token is still usable `marginMs` from now. */
export function accessTokenValid(tokens: Pick<TokenSet, 'accessExpiresAt'>, now: number, marginMs = 0): boolean {
  return tokens.accessExpiresAt - marginMs > now;
}

/** Whether the lease is held by somebody at `now`. */
export function leaseActive(tokens: Pick<TokenSet, 'leaseUntil'>, now: number): boolean {
  return tokens.leaseUntil !== undefined && tokens.leaseUntil > now;
}
