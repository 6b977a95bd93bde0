import { applicationTokenMatches } from '#shared/core/domain/application-token.js';
import { TokenConflictError } from '#shared/core/domain/errors.js';
import type { UninstallClaim } from '#shared/core/domain/lifecycle-events.js';
import type { Installation } from '#shared/core/domain/token-set.js';
import type { ParkedEventRepository } from '#shared/core/ports/parked-event-repository.js';
import type { TokenRepository } from '#shared/core/ports/token-repository.js';

export interface UninstallPortalDeps {
  readonly tokens: TokenRepository;
  readonly parked: ParkedEventRepository;
  readonly now: () => number;
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
  /** The application token does not match the stored one (or none is stored): nothing changed. */
  | { readonly kind: 'forbidden'; readonly memberId: string };

const WRITE_ATTEMPTS = 5;

/**
 * Handles ONAPPUNINSTALL. The event carries no tokens; the application token, compared in constant
 * time with the stored hash, is its only proof (docs/PROTOCOL.md §4.4). A stored installation without a
 * hash fails closed: anybody can send this event with a guessed `member_id`.
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
  return removeInstallation(request, deps, {
    authorized: (installation) => applicationTokenMatches(request.applicationToken, installation.applicationTokenHash),
    unknown: () => cancelParkedOnly(request, deps),
  });
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
  deps: UninstallPortalDeps,
): Promise<UninstallOutcome> {
  return removeInstallation({ memberId, clean: options.clean }, deps, {
    authorized: () => true,
    unknown: async () => ({ kind: 'unknown_portal', memberId, cancelledParked: 0 }),
  });
}

async function removeInstallation(
  request: Pick<UninstallClaim, 'memberId' | 'clean'>,
  deps: UninstallPortalDeps,
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
async function cancelParkedOnly(request: UninstallClaim, deps: UninstallPortalDeps): Promise<UninstallOutcome> {
  let cancelled = 0;
  for (const event of await deps.parked.listForPortal(request.memberId)) {
    if (applicationTokenMatches(request.applicationToken, event.claim.applicationTokenHash)) {
      await deps.parked.remove(request.memberId, event.id);
      cancelled += 1;
    }
  }
  return { kind: 'unknown_portal', memberId: request.memberId, cancelledParked: cancelled };
}
