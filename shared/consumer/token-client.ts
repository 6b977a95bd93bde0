import { AppError, OWN_ERROR_CODES, PortalNotFoundError, TokenUnavailableError } from '#shared/core/domain/errors.js';
import { accessTokenValid, domainFromEndpoint, type TokenKey, type TokenSet } from '#shared/core/domain/token-set.js';
import { type Logger, SILENT_LOGGER } from '#shared/core/ports/logger.js';
import type { PortalAddressStore } from '#shared/core/ports/portal-address-store.js';
import type { TokenRepository } from '#shared/core/ports/token-repository.js';
import {
  type AccessToken,
  assertUsable,
  cacheUntil,
  chooseDefaultTokenSet,
  type GetAccessTokenInput,
  toAccessToken,
  validateGetAccessTokenInput,
} from './access-token.js';

/**
 * The one safe refresh path, as the consumer library needs it: refresh the token set through the
 * lease and the fenced write, and return whatever is current afterwards (ours, or the winner's).
 */
export interface TokenRefresher {
  /**
   * `on_demand`: refreshes `key` unless the stored access token stays valid for `minValidityMs`.
   * `stale_report`: a consumer's token of `seenVersion` was refused; refreshes only while that version
   * is still the stored one (a newer version means somebody refreshed already, and comes back as is).
   */
  refresh(key: TokenKey, request: ConsumerRefreshInput): Promise<TokenSet>;
}

/** What the consumer library asks of the refresh path. */
export interface ConsumerRefreshInput {
  readonly reason: 'on_demand' | 'stale_report';
  readonly seenVersion: number;
  readonly minValidityMs: number;
}

/** What the consumer library reads and writes in the token table. */
export type ConsumerTokenStore = Pick<TokenRepository, 'getInstallation' | 'getTokenSet' | 'listTokenSets' | 'touch'> &
  PortalAddressStore;

export interface TokenClientOptions {
  readonly store: ConsumerTokenStore;
  readonly refresher: TokenRefresher;
  /** Refresh on demand when the token expires within this margin. @default 300_000 (5 min) */
  readonly refreshMarginMs?: number;
  /** Longest in-process life of a token (the cache also ends at expiresAt − margin). @default 300_000 */
  readonly cacheMaxAgeMs?: number;
  /** At most one `touch` (lastUsedAt) per token set and process in this interval. @default 900_000 */
  readonly touchThrottleMs?: number;
  /**
   * After a refresh failed for a transient reason while the old token still works, hand that token
   * out for this long before trying again (keeps a broken authorization server from being hammered).
   * @default 30_000
   */
  readonly refreshFailureCooldownMs?: number;
  readonly now?: () => number;
  /** Where problems that do not fail the call (a failed `touch`, a refresh that fell back) are reported. @default silent */
  readonly logger?: Logger;
}

interface CacheEntry {
  readonly token: AccessToken;
  readonly until: number;
}

interface Flight {
  readonly promise: Promise<AccessToken>;
  /** The stale version this flight was started for: its result is newer than it. */
  readonly staleVersion: number | undefined;
}

/**
 * Hands out access tokens to code that calls Bitrix24. One instance per process (module scope):
 * it keeps tokens in memory for a short, safe time and collapses concurrent callers into one read or
 * one refresh per token set. Across processes, the refresh path's lease and fenced write make sure one
 * refresh happens and everybody gets the winner's token.
 *
 * @example
 * const tokens = new TokenClient({ store: repository, refresher });
 * const { accessToken, clientEndpoint, version } = await tokens.getAccessToken({ memberId });
 * // … the portal answers expired_token …
 * const fresh = await tokens.getAccessToken({ memberId, userId, staleVersion: version });
 */
export class TokenClient {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly defaults = new Map<string, { readonly userId: number; readonly until: number }>();
  private readonly flights = new Map<string, Flight>();
  private readonly lastTouch = new Map<string, number>();
  private readonly store: ConsumerTokenStore;
  private readonly refresher: TokenRefresher;
  private readonly marginMs: number;
  private readonly cacheMaxAgeMs: number;
  private readonly touchThrottleMs: number;
  private readonly cooldownMs: number;
  private readonly now: () => number;
  private readonly logger: Logger;

  constructor(options: TokenClientOptions) {
    this.store = options.store;
    this.refresher = options.refresher;
    this.marginMs = options.refreshMarginMs ?? 300_000;
    this.cacheMaxAgeMs = options.cacheMaxAgeMs ?? 300_000;
    this.touchThrottleMs = options.touchThrottleMs ?? 900_000;
    this.cooldownMs = options.refreshFailureCooldownMs ?? 30_000;
    this.now = options.now ?? Date.now;
    this.logger = options.logger ?? SILENT_LOGGER;
  }

  /**
   * A usable access token for the portal (and user). Refreshes on demand, through the one refresh path,
   * when the token is within the margin of expiry or when `staleVersion` is still current.
   *
   * @throws ValidationError for a malformed input
   * @throws PortalNotFoundError when the portal (or that user's token set) is unknown
   * @throws TokenUnavailableError when the token set is `reauth_required`, `payment_required`,
   *   `invalid_client` or `uninstalled`, or when the token expired and the refresh failed
   */
  async getAccessToken(input: GetAccessTokenInput): Promise<AccessToken> {
    validateGetAccessTokenInput(input);
    const userId = input.userId ?? (await this.defaultUserId(input.memberId));
    const key: TokenKey = { memberId: input.memberId, userId };
    const id = cacheKey(key);
    const stale = input.staleVersion;
    const cached = this.cache.get(id);
    let token: AccessToken;
    if (cached !== undefined && cached.until > this.now() && (stale === undefined || cached.token.version > stale)) {
      token = cached.token;
    } else {
      if (cached !== undefined) this.cache.delete(id);
      try {
        token = await this.load(key, stale);
      } catch (error) {
        // The chosen default user may have just become unusable: choose again next time.
        if (input.userId === undefined) this.defaults.delete(input.memberId);
        throw error;
      }
    }
    await this.touch(key);
    return token;
  }

  /**
   * Records that the portal moved (a REST call met a 302): stores the new address and updates the
   * tokens this process keeps. The tokens themselves stay valid.
   */
  async portalMoved(memberId: string, previousClientEndpoint: string, clientEndpoint: string): Promise<void> {
    await this.store.updatePortalAddress(memberId, { previousClientEndpoint, clientEndpoint, now: this.now() });
    const domain = domainFromEndpoint(clientEndpoint);
    for (const [id, entry] of this.cache) {
      if (entry.token.memberId === memberId && entry.token.clientEndpoint === previousClientEndpoint) {
        this.cache.set(id, { ...entry, token: Object.freeze({ ...entry.token, clientEndpoint, domain }) });
      }
    }
  }

  /** Forgets every token this process keeps (for tests and for a consumer that wants a clean read). */
  clear(): void {
    this.cache.clear();
    this.defaults.clear();
    this.lastTouch.clear();
  }

  private async defaultUserId(memberId: string): Promise<number> {
    const known = this.defaults.get(memberId);
    if (known !== undefined && known.until > this.now()) return known.userId;
    const [installation, tokenSets] = await Promise.all([
      this.store.getInstallation(memberId),
      this.store.listTokenSets(memberId),
    ]);
    const userId = chooseDefaultTokenSet(memberId, installation, tokenSets);
    this.defaults.set(memberId, { userId, until: this.now() + this.cacheMaxAgeMs });
    return userId;
  }

  /**
   * Single flight per token set. A caller without `staleVersion` joins any flight in progress. A caller
   * with one joins a flight started for the same (or a newer) stale version, or waits for the running
   * flight and starts its own only when that flight's token is not newer than its stale version.
   */
  private async load(key: TokenKey, stale: number | undefined): Promise<AccessToken> {
    const id = cacheKey(key);
    for (let round = 0; round < 3; round += 1) {
      const flight = this.flights.get(id);
      if (flight === undefined) break;
      if (stale === undefined || (flight.staleVersion !== undefined && flight.staleVersion >= stale)) {
        return flight.promise;
      }
      const token = await flight.promise;
      if (token.version > stale) return token;
    }
    const promise: Promise<AccessToken> = this.fetch(key, stale).finally(() => {
      if (this.flights.get(id)?.promise === promise) this.flights.delete(id);
    });
    if (!this.flights.has(id)) this.flights.set(id, { promise, staleVersion: stale });
    return promise;
  }

  /** Reads the token set, refreshes it when needed, and caches the result. */
  private async fetch(key: TokenKey, stale: number | undefined): Promise<AccessToken> {
    const stored = await this.store.getTokenSet(key);
    if (stored === undefined) throw await this.missing(key);
    assertUsable(stored);
    const now = this.now();
    const refused = stale !== undefined && stored.version <= stale;
    if (!refused && accessTokenValid(stored, now, this.marginMs)) return this.remember(stored, now);

    let current: TokenSet;
    try {
      current = await this.refresher.refresh(key, {
        reason: refused ? 'stale_report' : 'on_demand',
        seenVersion: stored.version,
        minValidityMs: this.marginMs,
      });
    } catch (error) {
      // Deleted meanwhile: an uninstall removes every token set of the portal.
      if (error instanceof PortalNotFoundError) throw await this.missing(key);
      // A token set that turned out dead (reauth, payment, uninstalled) is the consumer's answer.
      if (error instanceof TokenUnavailableError && error.reason !== 'refresh_failed') throw error;
      // A refused token is useless; an expired one too. Otherwise the old token still works for a while.
      if (refused || !accessTokenValid(stored, this.now())) {
        if (error instanceof TokenUnavailableError) throw error;
        throw new TokenUnavailableError('refresh_failed', key.memberId, key.userId, {
          cause: error,
          details: { error: error instanceof AppError ? error.code : 'unknown' },
        });
      }
      this.logger.warn('refresh failed; the current token is used until it expires', {
        memberId: key.memberId,
        userId: key.userId,
        error: error instanceof AppError ? error.toJSON() : String(error),
      });
      const token = toAccessToken(stored);
      this.cache.set(cacheKey(key), { token, until: Math.min(this.now() + this.cooldownMs, token.expiresAt) });
      return token;
    }
    assertUsable(current);
    if (!accessTokenValid(current, this.now())) {
      throw new TokenUnavailableError('refresh_failed', key.memberId, key.userId, {
        details: { error: OWN_ERROR_CODES.expiredAfterRefresh },
      });
    }
    return this.remember(current, this.now());
  }

  /**
   * The error for a token set that is not there: an uninstall deletes the token sets and keeps the
   * installation as `uninstalled` (unless the admin asked to delete the app's data: then nothing is
   * left and the portal is simply unknown).
   */
  private async missing(key: TokenKey): Promise<AppError> {
    const installation = await this.store.getInstallation(key.memberId);
    if (installation?.status === 'uninstalled')
      return new TokenUnavailableError('uninstalled', key.memberId, key.userId);
    return new PortalNotFoundError(key.memberId, key.userId);
  }

  private remember(tokenSet: TokenSet, now: number): AccessToken {
    const token = toAccessToken(tokenSet);
    const until = cacheUntil(token, now, this.cacheMaxAgeMs, this.marginMs, tokenSet.nextRefreshAt);
    if (until > now) this.cache.set(cacheKey(tokenSet), { token, until });
    return token;
  }

  /** Records use for the warm-while-used policy, at most once per throttle interval and process. */
  private async touch(key: TokenKey): Promise<void> {
    const id = cacheKey(key);
    const now = this.now();
    const last = this.lastTouch.get(id);
    if (last !== undefined && now - last < this.touchThrottleMs) return;
    this.lastTouch.set(id, now);
    try {
      await this.store.touch(key, now, this.touchThrottleMs);
    } catch (error) {
      // Bookkeeping only: a consumer's call must not fail because lastUsedAt could not be written.
      this.logger.warn('recording token use failed', {
        memberId: key.memberId,
        userId: key.userId,
        error: error instanceof Error ? error.name : String(error),
      });
    }
  }
}

function cacheKey(key: TokenKey): string {
  return `${key.memberId}#${key.userId}`;
}
