import {
  type AccessToken,
  assertUsable,
  cacheUntil,
  chooseDefaultTokenSet,
  type GetAccessTokenInput,
  type ReadableTokenSet,
  toAccessToken,
  validateGetAccessTokenInput,
} from '#shared/core/domain/access-token.js';
import { AppError } from '#shared/core/domain/errors.js';
import { accessTokenValid, domainFromEndpoint, type TokenKey } from '#shared/core/domain/token-set.js';
import { isTransientVendorError } from '#shared/core/domain/vendor-contract.js';
import { type Logger, SILENT_LOGGER } from '#shared/core/ports/logger.js';
import type { TokenReader } from './dynamodb-token-reader.js';
import type { TokenVendor } from './token-vendor-client.js';

export interface TokenClientOptions {
  /** Where token sets are read (the token table, read-only). */
  readonly reader: TokenReader;
  /** Where tokens are renewed and use is recorded (the service's token vendor). */
  readonly vendor: TokenVendor;
  /** Ask the vendor when the token expires within this margin. @default 300_000 (5 min) */
  readonly refreshMarginMs?: number;
  /** Longest in-process life of a token (the cache also ends at expiresAt − margin). @default 300_000 */
  readonly cacheMaxAgeMs?: number;
  /** At most one record of use per token set and process in this interval. @default 900_000 */
  readonly touchThrottleMs?: number;
  /**
   * After the vendor could not renew a token that still works, hand that token out for this long
   * before asking again (keeps a broken authorization server from being hammered).
   * @default 30_000
   */
  readonly refreshFailureCooldownMs?: number;
  readonly now?: () => number;
  /** Where problems that do not fail the call (a failed record of use, a fallback) are reported. @default silent */
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

/** What one default-user lookup found: the user, and their token set (or the vendor's token) from the same read. */
interface DefaultUser {
  readonly userId: number;
  readonly tokenSet?: ReadableTokenSet | undefined;
  readonly token?: AccessToken | undefined;
}

/**
 * Hands out access tokens to code that calls Bitrix24. One instance per process (module scope).
 *
 * A consumer only reads: while the stored access token stays valid it comes straight from the token
 * table (and then from memory for a short, safe time); when it is missing, about to expire, or refused
 * by the portal (a stale report with its version), the service's token vendor is asked, which refreshes
 * through the one refresh path. Concurrent callers in one process share one read and one vendor call
 * per token set — also when no user is named (one lookup of the default user per portal).
 *
 * @example
 * const tokens = new TokenClient({ reader, vendor });
 * const { accessToken, clientEndpoint, version } = await tokens.getAccessToken({ memberId });
 * // … the portal answers expired_token …
 * const fresh = await tokens.getAccessToken({ memberId, userId, staleVersion: version });
 */
export class TokenClient {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly defaults = new Map<string, { readonly userId: number; readonly until: number }>();
  private readonly lookups = new Map<string, Promise<DefaultUser>>();
  private readonly flights = new Map<string, Flight>();
  private readonly lastTouch = new Map<string, number>();
  private readonly reader: TokenReader;
  private readonly vendor: TokenVendor;
  private readonly marginMs: number;
  private readonly cacheMaxAgeMs: number;
  private readonly touchThrottleMs: number;
  private readonly cooldownMs: number;
  private readonly now: () => number;
  private readonly logger: Logger;

  constructor(options: TokenClientOptions) {
    this.reader = options.reader;
    this.vendor = options.vendor;
    this.marginMs = options.refreshMarginMs ?? 300_000;
    this.cacheMaxAgeMs = options.cacheMaxAgeMs ?? 300_000;
    this.touchThrottleMs = options.touchThrottleMs ?? 900_000;
    this.cooldownMs = options.refreshFailureCooldownMs ?? 30_000;
    this.now = options.now ?? Date.now;
    this.logger = options.logger ?? SILENT_LOGGER;
  }

  /**
   * A usable access token for the portal (and user); never the refresh token. Asks the token vendor
   * when the token is missing, within the margin of expiry, or refused (`staleVersion` still current).
   *
   * @throws ValidationError for a malformed input
   * @throws PortalNotFoundError when the portal (or that user's token set) is unknown
   * @throws TokenUnavailableError when the token set is `reauth_required`, `payment_required`,
   *   `invalid_client` or `uninstalled`, or when the token expired and could not be renewed now
   *   (`refresh_failed`: the vendor failed or could not be reached)
   */
  async getAccessToken(input: GetAccessTokenInput): Promise<AccessToken> {
    validateGetAccessTokenInput(input);
    let found: DefaultUser | undefined;
    let userId = input.userId;
    if (userId === undefined) {
      const known = this.defaults.get(input.memberId);
      if (known !== undefined && known.until > this.now()) userId = known.userId;
      else {
        found = await this.defaultUser(input.memberId);
        userId = found.userId;
      }
    }
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
        token = await this.load(key, stale, found);
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
   * Records that the portal moved (a REST call met a 302): updates the tokens this process keeps and
   * reports the move to the vendor, which stores it once the old address confirms it. The tokens
   * themselves stay valid.
   */
  async portalMoved(memberId: string, previousClientEndpoint: string, clientEndpoint: string): Promise<void> {
    const domain = domainFromEndpoint(clientEndpoint);
    for (const [id, entry] of this.cache) {
      if (entry.token.memberId === memberId && entry.token.clientEndpoint === previousClientEndpoint) {
        this.cache.set(id, { ...entry, token: Object.freeze({ ...entry.token, clientEndpoint, domain }) });
      }
    }
    await this.vendor.portalMoved(memberId, previousClientEndpoint, clientEndpoint);
  }

  /** Forgets every token this process keeps (for tests and for a consumer that wants a clean read). */
  clear(): void {
    this.cache.clear();
    this.defaults.clear();
    this.lastTouch.clear();
  }

  /**
   * The portal's default user (`chooseDefaultTokenSet`), looked up once for any number of concurrent
   * callers. The same read brings the chosen user's token set, so the lookup costs one request in all.
   * A portal without a readable token set (none stored, or uninstalled) is the vendor's to answer.
   */
  private defaultUser(memberId: string): Promise<DefaultUser> {
    const running = this.lookups.get(memberId);
    if (running !== undefined) return running;
    const lookup = (async (): Promise<DefaultUser> => {
      const fromVendor = async (): Promise<DefaultUser> => {
        const token = await this.vendor.getAccessToken({ memberId, minValidityMs: this.marginMs });
        this.lastTouch.set(cacheKey(token), this.now());
        return { userId: token.userId, token };
      };
      const portal = await this.readOrNothing(() => this.reader.readPortal(memberId), memberId);
      if (portal === undefined) return fromVendor();
      let userId: number;
      try {
        userId = chooseDefaultTokenSet(memberId, portal.installation, portal.tokenSets);
      } catch {
        return fromVendor();
      }
      this.defaults.set(memberId, { userId, until: this.now() + this.cacheMaxAgeMs });
      return { userId, tokenSet: portal.tokenSets.find((tokenSet) => tokenSet.userId === userId) };
    })().finally(() => this.lookups.delete(memberId));
    this.lookups.set(memberId, lookup);
    return lookup;
  }

  /**
   * A read of the table, or `undefined` when it failed: the vendor reads the same item with the service's
   * own retries and answers with a token or a typed error, so a consumer never sees a raw SDK error.
   */
  private async readOrNothing<T>(read: () => Promise<T>, memberId: string): Promise<T | undefined> {
    try {
      return await read();
    } catch (error) {
      if (error instanceof AppError) throw error;
      this.logger.warn('the token table could not be read; asking the token vendor', {
        memberId,
        error: error instanceof Error ? error.name : String(error),
      });
      return undefined;
    }
  }

  /**
   * Single flight per token set. A caller without `staleVersion` joins any flight in progress. A caller
   * with one joins a flight started for the same (or a newer) stale version, or waits for the running
   * flight and starts its own only when that flight's token is not newer than its stale version.
   */
  private async load(key: TokenKey, stale: number | undefined, found: DefaultUser | undefined): Promise<AccessToken> {
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
    const promise: Promise<AccessToken> = this.fetch(key, stale, found).finally(() => {
      if (this.flights.get(id)?.promise === promise) this.flights.delete(id);
    });
    if (!this.flights.has(id)) this.flights.set(id, { promise, staleVersion: stale });
    return promise;
  }

  /** Reads the token set (unless the default-user lookup just did), asks the vendor when needed, caches the result. */
  private async fetch(key: TokenKey, stale: number | undefined, found: DefaultUser | undefined): Promise<AccessToken> {
    if (found?.token !== undefined && (stale === undefined || found.token.version > stale)) {
      return this.remember(found.token, this.now());
    }
    const stored = found?.tokenSet ?? (await this.readOrNothing(() => this.reader.readTokenSet(key), key.memberId));
    if (stored === undefined) return this.remember(await this.ask(key, stale), this.now());
    this.usedAt(key, stored.lastUsedAt);
    assertUsable(stored);
    const now = this.now();
    const refused = stale !== undefined && stored.version <= stale;
    if (!refused && accessTokenValid(stored, now, this.marginMs)) {
      return this.remember(toAccessToken(stored), now, stored.nextRefreshAt);
    }
    try {
      return this.remember(await this.ask(key, refused ? stale : undefined), this.now());
    } catch (error) {
      // A refused token is useless, an expired one too; and a dead chain is the caller's answer.
      if (refused || !isTransientVendorError(error) || !accessTokenValid(stored, this.now())) throw error;
      this.logger.warn('the token vendor could not renew the token; the current one is used until it expires', {
        memberId: key.memberId,
        userId: key.userId,
        error: error instanceof AppError ? error.toJSON() : String(error),
      });
      const token = toAccessToken(stored);
      this.cache.set(cacheKey(key), { token, until: Math.min(this.now() + this.cooldownMs, token.expiresAt) });
      return token;
    }
  }

  /** Asks the vendor for the token set's token; the vendor records the use at the same time. */
  private async ask(key: TokenKey, staleVersion: number | undefined): Promise<AccessToken> {
    const token = await this.vendor.getAccessToken({ ...key, minValidityMs: this.marginMs, staleVersion });
    this.lastTouch.set(cacheKey(key), this.now());
    return token;
  }

  /**
   * Keeps a token for a short, safe time: never past expiresAt − margin nor the sweep's next refresh
   * of it. A token the vendor handed out although it expires within the margin (it could not renew
   * it) is kept for the cool-down only.
   */
  private remember(token: AccessToken, now: number, sweepAt?: number): AccessToken {
    const until = accessTokenValid({ accessExpiresAt: token.expiresAt }, now, this.marginMs)
      ? cacheUntil(token, now, this.cacheMaxAgeMs, this.marginMs, sweepAt)
      : Math.min(now + this.cooldownMs, token.expiresAt);
    if (until > now) this.cache.set(cacheKey(token), { token, until });
    return token;
  }

  /**
   * Notes a record of use the table shows (by this process or another): a new container whose token
   * set was used a moment ago by its siblings does not record it again.
   */
  private usedAt(key: TokenKey, lastUsedAt: number | undefined): void {
    if (lastUsedAt === undefined) return;
    const id = cacheKey(key);
    const known = this.lastTouch.get(id);
    if (known === undefined || known < lastUsedAt) this.lastTouch.set(id, lastUsedAt);
  }

  /** Records use for the warm-while-used policy, at most once per throttle interval and process. */
  private async touch(key: TokenKey): Promise<void> {
    const id = cacheKey(key);
    const now = this.now();
    const last = this.lastTouch.get(id);
    if (last !== undefined && now - last < this.touchThrottleMs) return;
    this.lastTouch.set(id, now);
    try {
      await this.vendor.recordUse(key);
    } catch (error) {
      // Bookkeeping only: a consumer's call must not fail because its use could not be recorded.
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
