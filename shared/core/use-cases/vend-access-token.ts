import {
  type AccessToken,
  assertUsable,
  chooseDefaultTokenSet,
  toAccessToken,
} from '#shared/core/domain/access-token.js';
import {
  AppError,
  OWN_ERROR_CODES,
  PortalNotFoundError,
  TokenUnavailableError,
  ValidationError,
} from '#shared/core/domain/errors.js';
import { accessTokenValid, type TokenKey, type TokenSet } from '#shared/core/domain/token-set.js';
import type { GetTokenRequest, PortalMovedRequest, RecordUseRequest } from '#shared/core/domain/vendor-contract.js';
import type { PortalAddressStore } from '#shared/core/ports/portal-address-store.js';
import type { PortalProbe } from '#shared/core/ports/portal-probe.js';
import type { TokenRepository } from '#shared/core/ports/token-repository.js';
import { type RefreshDeps, refreshTokenSet } from './refresh-token-set.js';

/** What the token vendor reads and writes besides the refresh path. */
export type VendorTokenStore = Pick<TokenRepository, 'getInstallation' | 'getTokenSet' | 'listTokenSets' | 'touch'> &
  PortalAddressStore;

export interface VendDeps {
  readonly tokens: VendorTokenStore;
  /** The one refresh path (its clock and logger serve the vendor too). */
  readonly refresh: RefreshDeps;
  readonly probe: PortalProbe;
  readonly settings: VendSettings;
}

export interface VendSettings {
  /** Validity a token must keep when the caller names none (`CONSUMER_REFRESH_MARGIN_SECONDS`). */
  readonly minValidityMs: number;
  /** At most one `lastUsedAt` write per token set in this interval (`CONSUMER_TOUCH_THROTTLE_SECONDS`). */
  readonly touchThrottleMs: number;
}

export interface VendOptions {
  /**
   * How long to wait for another worker's refresh of the same token set. The function passes what its
   * invocation has left, so a wait never outlasts it. @default the refresh path's `leaseWaitMs`
   */
  readonly waitForLeaseMs?: number | undefined;
}

/**
 * The token vendor's answer to `getAccessToken`: the stored access token while it stays valid for
 * `minValidityMs` (and is not the version the caller reports refused), otherwise a refreshed one —
 * always through the one refresh path (`refreshTokenSet`: lease, authorization server, fenced write),
 * so any number of callers in any number of processes cause one refresh. Records use (`lastUsedAt`).
 *
 * When a refresh fails for a transient reason and the stored token still works (and was not reported
 * refused), that token is handed out: an authorization-server outage does not stop consumers until the
 * token really expires.
 *
 * @throws PortalNotFoundError, TokenUnavailableError (`uninstalled`, `reauth_required`,
 *   `payment_required`, `invalid_client`, `refresh_failed`), TokenRefreshError, LeaseHeldError
 *
 * @example
 * const token = await vendAccessToken({ action: 'getAccessToken', memberId, staleVersion: 7 }, deps);
 */
export async function vendAccessToken(
  request: GetTokenRequest,
  deps: VendDeps,
  options: VendOptions = {},
): Promise<AccessToken> {
  const userId = request.userId ?? (await defaultUserId(request.memberId, deps));
  const key: TokenKey = { memberId: request.memberId, userId };
  const stale = request.staleVersion;
  let tokenSet: TokenSet;
  try {
    const outcome = await refreshTokenSet(
      key,
      {
        reason: stale === undefined ? 'on_demand' : 'stale_report',
        seenVersion: stale,
        minValidityMs: request.minValidityMs ?? deps.settings.minValidityMs,
        waitForLeaseMs: options.waitForLeaseMs,
      },
      deps.refresh,
    );
    tokenSet = outcome.tokenSet;
  } catch (error) {
    // Deleted meanwhile, or never there: an uninstall removes every token set of the portal.
    if (error instanceof PortalNotFoundError) throw await missing(key, deps);
    // A dead chain (reauth, payment, client, uninstalled) is the caller's answer.
    if (error instanceof TokenUnavailableError && error.reason !== 'refresh_failed') throw error;
    const current = stale === undefined ? await stillWorking(key, deps) : undefined;
    if (current === undefined) throw error;
    deps.refresh.logger.warn('refresh failed; the current token is handed out until it expires', {
      memberId: key.memberId,
      userId: key.userId,
      error: errorSummary(error),
    });
    tokenSet = current;
  }
  assertUsable(tokenSet);
  if (!accessTokenValid(tokenSet, deps.refresh.clock())) {
    throw new TokenUnavailableError('refresh_failed', key.memberId, key.userId, {
      details: { error: OWN_ERROR_CODES.expiredAfterRefresh },
    });
  }
  await touchQuietly(key, tokenSet, deps);
  return toAccessToken(tokenSet);
}

/**
 * Records that a consumer reads the token set (`lastUsedAt`, at most once per throttle interval), so
 * the `warm_while_used` policy keeps it warm. A token set that is not there is nothing to record.
 */
export async function recordTokenUse(request: RecordUseRequest, deps: VendDeps): Promise<void> {
  await deps.tokens.touch(
    { memberId: request.memberId, userId: request.userId },
    deps.refresh.clock(),
    deps.settings.touchThrottleMs,
  );
}

/**
 * Stores a portal's new address after a REST call met a 302 — once the old address itself confirms
 * it: a renamed portal's old host redirects every request, without a token, to its new host. A report
 * the old address does not confirm changes nothing, so no caller can point other consumers' tokens at
 * a host of its choosing. Only items that still hold the old address are changed.
 *
 * @throws ValidationError (`field: 'clientEndpoint'`) when the old address does not redirect there
 */
export async function recordPortalMove(request: PortalMovedRequest, deps: VendDeps): Promise<void> {
  const confirmed = await deps.probe.movedTo(request.previousClientEndpoint);
  if (confirmed !== request.clientEndpoint) {
    throw new ValidationError('the previous address does not redirect to clientEndpoint', {
      details: { field: 'clientEndpoint' },
    });
  }
  await deps.tokens.updatePortalAddress(request.memberId, {
    previousClientEndpoint: request.previousClientEndpoint,
    clientEndpoint: request.clientEndpoint,
    now: deps.refresh.clock(),
  });
  deps.refresh.logger.info('portal address updated', {
    memberId: request.memberId,
    to: new URL(request.clientEndpoint).host,
  });
}

async function defaultUserId(memberId: string, deps: VendDeps): Promise<number> {
  const [installation, tokenSets] = await Promise.all([
    deps.tokens.getInstallation(memberId),
    deps.tokens.listTokenSets(memberId),
  ]);
  return chooseDefaultTokenSet(memberId, installation, tokenSets);
}

/**
 * The error for a token set that is not there: an uninstall deletes the token sets and keeps the
 * installation as `uninstalled` (unless the admin asked to delete the app's data: then nothing is left
 * and the portal is simply unknown).
 */
async function missing(key: TokenKey, deps: VendDeps): Promise<AppError> {
  const installation = await deps.tokens.getInstallation(key.memberId);
  if (installation?.status === 'uninstalled') return new TokenUnavailableError('uninstalled', key.memberId, key.userId);
  return new PortalNotFoundError(key.memberId, key.userId);
}

/** The stored token set when its access token still works; a failed read concludes nothing. */
async function stillWorking(key: TokenKey, deps: VendDeps): Promise<TokenSet | undefined> {
  try {
    const stored = await deps.tokens.getTokenSet(key);
    if (stored === undefined || !accessTokenValid(stored, deps.refresh.clock())) return undefined;
    assertUsable(stored);
    return stored;
  } catch {
    return undefined;
  }
}

/**
 * Records use unless the token set shows a recent record already (many callers at once would each
 * write otherwise). Bookkeeping only: a consumer's token must not be refused because it failed.
 */
async function touchQuietly(key: TokenKey, tokenSet: TokenSet, deps: VendDeps): Promise<void> {
  const now = deps.refresh.clock();
  if (tokenSet.lastUsedAt !== undefined && now - tokenSet.lastUsedAt < deps.settings.touchThrottleMs) return;
  try {
    await deps.tokens.touch(key, now, deps.settings.touchThrottleMs);
  } catch (error) {
    deps.refresh.logger.warn('recording token use failed', {
      memberId: key.memberId,
      userId: key.userId,
      error: errorSummary(error),
    });
  }
}

/** What a log line may say about an error: our errors' safe fields, else only the class name. */
function errorSummary(error: unknown): unknown {
  if (error instanceof AppError) return error.toJSON();
  return error instanceof Error ? error.name : String(error);
}
