import { applicationTokenMatches } from '#shared/core/domain/application-token.js';
import {
  LeaseHeldError,
  PortalNotFoundError,
  TokenConflictError,
  TokenRefreshError,
  TokenUnavailableError,
} from '#shared/core/domain/errors.js';
import type { UninstallClaim } from '#shared/core/domain/lifecycle-events.js';
import { UNINSTALL_PROOF_LEASE_WAIT_MS } from '#shared/core/domain/refresh-policy.js';
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
/** Dead chains tried before giving up on a proof: each is one authorization-server call. */
const PROOF_MAX_TOKEN_SETS = 3;

/**
 * What the authorization server said about an uninstall claim for a portal without a stored
 * application token (docs/LIFECYCLE.md, "Uninstall"):
 * - `genuine`: the app is not installed there (`invalid_client` with credentials known to work) or the
 *   portal is gone (`PORTAL_DELETED`): the event is honoured, `CLEAN` included;
 * - `dead_chain`: no token set could be refreshed at all (`invalid_grant` for each, or none is
 *   refreshable): the portal is lost to us either way, so it is marked uninstalled, but neither `CLEAN`
 *   nor the cancelling of parked claims is honoured;
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
  const before = await deps.tokens.getInstallation(request.memberId);
  if (before === undefined || before.status === 'uninstalled' || before.applicationTokenHash !== undefined) {
    return removeInstallation(request, deps, { authorized: matches, unknown });
  }
  const proof = await proveUninstall(request.memberId, deps);
  deps.logger.info('uninstall without a stored application token: asked the authorization server', {
    memberId: request.memberId,
    ...proof,
  });
  if (proof.verdict === 'forged') return { kind: 'forbidden', memberId: request.memberId };
  if (proof.verdict === 'unproven') return { kind: 'unproven', memberId: request.memberId, because: proof.because };
  // The proof holds for the installation it was asked about: one written meanwhile (a reinstall through
  // the frame, a verified ONAPPINSTALL with its application token) is judged on its own.
  const authorized = (current: Installation): boolean => current.version === before.version || matches(current);
  const genuine = proof.verdict === 'genuine';
  return removeInstallation({ ...request, clean: request.clean && genuine }, deps, {
    authorized,
    unknown,
    // A parked claim may be a repair in progress whose pair is verified already: only a proven
    // uninstall voids it.
    keepParked: !genuine,
  });
}

/**
 * Asks the authorization server, through the portal's token sets (freshest first), whether the app is
 * still installed. A dead chain settles nothing about the others, so the next is tried; the first
 * answer that settles it wins, and an unsettled one ends the proof (the server is likely unreachable).
 */
async function proveUninstall(memberId: string, deps: UninstallPortalDeps): Promise<UninstallProof> {
  const candidates = (await deps.tokens.listTokenSets(memberId))
    .filter((set) => REFRESHABLE_STATUSES.has(set.status))
    .sort((a, b) => (b.lastRefreshAt ?? b.createdAt) - (a.lastRefreshAt ?? a.createdAt));
  for (const [index, candidate] of candidates.entries()) {
    if (index === PROOF_MAX_TOKEN_SETS) return { verdict: 'unproven', because: 'too_many_dead_chains' };
    const proof = await proveWith(candidate, deps);
    if (proof.verdict !== 'dead_chain') return proof;
  }
  return { verdict: 'dead_chain' };
}

async function proveWith(tokenSet: TokenSet, deps: UninstallPortalDeps): Promise<UninstallProof> {
  try {
    await refreshTokenSet(
      tokenSet,
      { reason: 'uninstall_proof', waitForLeaseMs: UNINSTALL_PROOF_LEASE_WAIT_MS },
      deps.refresh,
    );
    return { verdict: 'forged' };
  } catch (error) {
    if (error instanceof PortalNotFoundError) return { verdict: 'dead_chain' };
    if (error instanceof LeaseHeldError) return { verdict: 'unproven', because: 'busy' };
    if (error instanceof TokenRefreshError && error.category === 'write_failed') {
      // The server issued a pair (parked or reported by the refresh path): the app is installed.
      return { verdict: 'forged' };
    }
    if (error instanceof TokenUnavailableError) {
      const status = error instanceof TokenRefreshError ? error.status : error.reason;
      if (status === 'uninstalled' || status === 'portal_deleted') return { verdict: 'genuine' };
      if (status === 'reauth_required') return { verdict: 'dead_chain' };
      return { verdict: 'unproven', because: error instanceof TokenRefreshError ? error.category : error.reason };
    }
    throw error;
  }
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
    /** Leave parked install claims alone. @default false */
    readonly keepParked?: boolean;
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
    } else if (check.keepParked !== true) {
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
