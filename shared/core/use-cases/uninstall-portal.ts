import { applicationTokenMatches } from '#shared/core/domain/application-token.js';
import {
  LeaseHeldError,
  PortalNotFoundError,
  TokenConflictError,
  TokenRefreshError,
  TokenUnavailableError,
} from '#shared/core/domain/errors.js';
import type { UninstallClaim } from '#shared/core/domain/lifecycle-events.js';
import { type Installation, REFRESHABLE_STATUSES, type TokenSet } from '#shared/core/domain/token-set.js';
import type { Logger } from '#shared/core/ports/logger.js';
import type { ParkedEventRepository } from '#shared/core/ports/parked-event-repository.js';
import type { TokenRepository } from '#shared/core/ports/token-repository.js';
import { type RefreshDeps, refreshTokenSet } from './refresh-token-set.js';

/** What an operator's revoke needs: no proof is asked of an operator. */
export interface RevokePortalDeps {
  readonly tokens: TokenRepository;
  readonly parked: ParkedEventRepository;
  readonly now: () => number;
}

export interface UninstallPortalDeps extends RevokePortalDeps {
  /** The refresh path, for proving an uninstall of a portal whose application token we do not know. */
  readonly refresh: RefreshDeps;
  readonly logger: Logger;
}

export type UninstallOutcome =
  /** The application token matched: tokens are gone, the installation is `uninstalled` (or purged). */
  | {
      readonly kind: 'uninstalled';
      readonly memberId: string;
      readonly clean: boolean;
      readonly tokenSetsDeleted: number;
    }
  /** We know nothing of the portal: nothing to do (a repeat after CLEAN, or never installed). */
  | { readonly kind: 'unknown_portal'; readonly memberId: string; readonly cancelledParked: number }
  /**
   * The application token does not match the stored one, or none is stored and the authorization
   * server still refreshes the portal's tokens (the app is installed; the new pair is stored): nothing
   * else changed.
   */
  | { readonly kind: 'forbidden'; readonly memberId: string }
  /**
   * None is stored and the authorization server could not settle it (unreachable, `PAYMENT_REQUIRED`,
   * credentials not proven, another refresh running): nothing changed; the token set's own status says
   * the rest.
   */
  | { readonly kind: 'unproven'; readonly memberId: string; readonly because: string };

const WRITE_ATTEMPTS = 5;
/**
 * How long the proof waits for a refresh already running on the same token set: short, because the
 * event's answer is due within API Gateway's 30 s, after the proof's own authorization-server call.
 */
const PROOF_LEASE_WAIT_MS = 3000;

/**
 * What the authorization server said about an uninstall claim for a portal without a stored
 * application token (docs/LIFECYCLE.md, "Uninstall"):
 * - `genuine`: the app is not installed there (`invalid_client` with credentials known to work) or the
 *   portal is gone (`PORTAL_DELETED`): the event is honoured, `CLEAN` included;
 * - `dead_chain`: no token set could be refreshed at all (`invalid_grant`, or none is refreshable): the
 *   portal is lost to us either way, so it is marked uninstalled, but `CLEAN` is not honoured;
 * - `forged`: a new pair came back: the app is installed;
 * - `unproven`: no answer that settles it.
 */
type UninstallProof =
  | { readonly verdict: 'genuine' | 'dead_chain' | 'forged' }
  | { readonly verdict: 'unproven'; readonly because: string };

/**
 * Handles ONAPPUNINSTALL. The event carries no tokens; the application token, compared in constant
 * time with the stored hash, is its proof (docs/PROTOCOL.md §4.4). A portal connected through the
 * install frame has no stored hash (the frame carries no application token): then the authorization
 * server is asked through the one refresh path, since Bitrix24 revokes the app's tokens before it sends
 * the event (`UninstallProof`). Anybody can send this event with a guessed `member_id`, so nothing is
 * taken on the event's word.
 *
 * On a match: the installation becomes `uninstalled`, every token set of the portal is deleted, and
 * parked install claims are cancelled (they are older than this uninstall). With `CLEAN` every item of
 * the portal is deleted; without it the installation stays, without tokens, for audit. A later install
 * revives the portal.
 *
 * @example
 * const outcome = await uninstallPortal(uninstallClaimFromEvent(wire, now), deps);
 * if (outcome.kind === 'forbidden') throw new ForbiddenError('application token does not match');
 */
export async function uninstallPortal(request: UninstallClaim, deps: UninstallPortalDeps): Promise<UninstallOutcome> {
  const matches = (installation: Installation): boolean =>
    applicationTokenMatches(request.applicationToken, installation.applicationTokenHash);
  const unknown = (): Promise<UninstallOutcome> => cancelParkedOnly(request, deps);
  const installation = await deps.tokens.getInstallation(request.memberId);
  if (installation === undefined || installation.status === 'uninstalled' || installation.applicationTokenHash) {
    return removeInstallation(request, deps, { authorized: matches, unknown });
  }
  const proof = await proveUninstall(request.memberId, deps);
  deps.logger.info('uninstall without a stored application token: asked the authorization server', {
    memberId: request.memberId,
    ...proof,
  });
  if (proof.verdict === 'forged') return { kind: 'forbidden', memberId: request.memberId };
  if (proof.verdict === 'unproven') return { kind: 'unproven', memberId: request.memberId, because: proof.because };
  // A token verified meanwhile (an ONAPPINSTALL finishing) is the proof again from here on.
  const authorized = (current: Installation): boolean => current.applicationTokenHash === undefined || matches(current);
  const clean = request.clean && proof.verdict === 'genuine';
  return removeInstallation({ ...request, clean }, deps, { authorized, unknown });
}

/** Asks the authorization server, through one token set of the portal, whether the app is still installed. */
async function proveUninstall(memberId: string, deps: UninstallPortalDeps): Promise<UninstallProof> {
  const tokenSets = await deps.tokens.listTokenSets(memberId);
  // A refresh that already found the app removed, or the portal gone, is the server's word already.
  if (tokenSets.some((set) => set.status === 'uninstalled' || set.status === 'portal_deleted')) {
    return { verdict: 'genuine' };
  }
  const candidate = freshestRefreshable(tokenSets);
  if (candidate === undefined) return { verdict: 'dead_chain' };
  try {
    await refreshTokenSet(candidate, { reason: 'uninstall_proof', waitForLeaseMs: PROOF_LEASE_WAIT_MS }, deps.refresh);
    return { verdict: 'forged' };
  } catch (error) {
    if (error instanceof PortalNotFoundError) return { verdict: 'dead_chain' };
    if (error instanceof LeaseHeldError) return { verdict: 'unproven', because: 'busy' };
    if (error instanceof TokenUnavailableError) {
      const status = error instanceof TokenRefreshError ? error.status : error.reason;
      if (status === 'uninstalled' || status === 'portal_deleted') return { verdict: 'genuine' };
      if (status === 'reauth_required') return { verdict: 'dead_chain' };
      return { verdict: 'unproven', because: error instanceof TokenRefreshError ? error.category : error.reason };
    }
    throw error;
  }
}

/** The refreshable token set refreshed last: the likeliest to hold a live refresh token. */
function freshestRefreshable(tokenSets: readonly TokenSet[]): TokenSet | undefined {
  let best: TokenSet | undefined;
  for (const set of tokenSets) {
    if (!REFRESHABLE_STATUSES.has(set.status)) continue;
    if (best === undefined || (set.lastRefreshAt ?? set.createdAt) > (best.lastRefreshAt ?? best.createdAt)) best = set;
  }
  return best;
}

/**
 * Operator revoke (`npm run ops -- uninstall`): what a verified ONAPPUNINSTALL does, on the operator's
 * authority instead of the application token. The app stays installed on the portal's side, so a
 * user opening it (or a reinstall) brings tokens back.
 *
 * @example
 * const outcome = await revokePortal(memberId, { clean: false }, deps); // 'uninstalled' or 'unknown_portal'
 */
export async function revokePortal(
  memberId: string,
  options: { readonly clean: boolean },
  deps: RevokePortalDeps,
): Promise<UninstallOutcome> {
  return removeInstallation({ memberId, clean: options.clean }, deps, {
    authorized: () => true,
    unknown: async () => ({ kind: 'unknown_portal', memberId, cancelledParked: 0 }),
  });
}

async function removeInstallation(
  request: Pick<UninstallClaim, 'memberId' | 'clean'>,
  deps: RevokePortalDeps,
  check: {
    readonly authorized: (installation: Installation) => boolean;
    readonly unknown: () => Promise<UninstallOutcome>;
  },
): Promise<UninstallOutcome> {
  for (let attempt = 1; ; attempt += 1) {
    const installation = await deps.tokens.getInstallation(request.memberId);
    if (installation === undefined) return check.unknown();
    if (!check.authorized(installation)) return { kind: 'forbidden', memberId: request.memberId };
    try {
      if (installation.status !== 'uninstalled') {
        const now = deps.now();
        await deps.tokens.saveInstallation(
          { ...installation, status: 'uninstalled', uninstalledAt: now, now },
          installation.version,
        );
      }
    } catch (error) {
      // A concurrent write (an install finishing, a callback): read again and decide again.
      if (error instanceof TokenConflictError && attempt < WRITE_ATTEMPTS) continue;
      throw error;
    }
    const tokenSetsDeleted = await deps.tokens.deleteTokenSets(request.memberId);
    if (request.clean) {
      await deps.parked.removePortal(request.memberId);
      await deps.tokens.deletePortal(request.memberId);
    } else {
      for (const event of await deps.parked.listForPortal(request.memberId)) {
        await deps.parked.remove(request.memberId, event.id);
      }
    }
    return { kind: 'uninstalled', memberId: request.memberId, clean: request.clean, tokenSetsDeleted };
  }
}

/**
 * No installation yet, but an install claim of this portal may be parked (the authorization server
 * was down when it came). An uninstall whose application token matches a parked claim's cancels it,
 * so the claim cannot revive the portal later.
 */
async function cancelParkedOnly(request: UninstallClaim, deps: RevokePortalDeps): Promise<UninstallOutcome> {
  let cancelled = 0;
  for (const event of await deps.parked.listForPortal(request.memberId)) {
    if (applicationTokenMatches(request.applicationToken, event.claim.applicationTokenHash)) {
      await deps.parked.remove(request.memberId, event.id);
      cancelled += 1;
    }
  }
  return { kind: 'unknown_portal', memberId: request.memberId, cancelledParked: cancelled };
}
