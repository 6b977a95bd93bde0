import { backoffDelayMs } from '#shared/core/domain/backoff.js';
import { BitrixOAuthError, OWN_ERROR_CODES, TokenConflictError, ValidationError } from '#shared/core/domain/errors.js';
import { claimId, type InstallClaim } from '#shared/core/domain/lifecycle-events.js';
import type { ParkingPolicy } from '#shared/core/domain/parked-event.js';
import { withChain } from '#shared/core/domain/token-history.js';
import {
  domainFromEndpoint,
  type Installation,
  type IssuedTokens,
  type TokenStatus,
} from '#shared/core/domain/token-set.js';
import type { Logger } from '#shared/core/ports/logger.js';
import type { BitrixOAuthClient } from '#shared/core/ports/oauth-client.js';
import type { ParkedEventRepository } from '#shared/core/ports/parked-event-repository.js';
import type { TokenRepository } from '#shared/core/ports/token-repository.js';

/**
 * Registers an installation from an install claim (ONAPPINSTALL, ONAPPUPDATE or the install frame's
 * POST) — but only once the authorization server has confirmed it.
 *
 * How authenticity is established (docs/PROTOCOL.md §4.3, §6): nothing in the message is trusted. We spend
 * the claim's refresh token with OUR client credentials on an allow-listed authorization server. The
 * server answers only for a chain it issued to our app, and its answer names the portal (`member_id`);
 * it must be the portal the claim names. The answer's new pair is what we store (the claim's pair is
 * spent by then, which is fine). Forged claims — tokens of another app, random tokens, another
 * portal's `member_id`, a server off the allow-list — change nothing.
 */

/** Token statuses of a chain worth keeping over a newer claim's chain. */
const HEALTHY: ReadonlySet<TokenStatus> = new Set<TokenStatus>(['active', 'degraded']);
/** Writes that lose a race re-read and decide again this many times. */
const WRITE_ATTEMPTS = 5;

export interface RegisterInstallationDeps {
  readonly tokens: TokenRepository;
  readonly parked: ParkedEventRepository;
  /** The authorization server client, with the short lifecycle timeout. */
  readonly oauth: BitrixOAuthClient;
  /** `BITRIX_AUTH_SERVERS`: the only hosts a claim may be verified on. */
  readonly allowedAuthServers: readonly string[];
  /** Assumed refresh-token lifetime (`REFRESH_TOKEN_LIFETIME_DAYS`). */
  readonly refreshTokenLifetimeMs: number;
  /** When the sweep should first refresh a new chain; undefined keeps it out of the due index. */
  readonly nextRefreshAt: (issued: IssuedTokens) => number | undefined;
  readonly parking: ParkingPolicy;
  /** Receipt lifetime of a finished claim, seconds. */
  readonly receiptTtlSeconds: number;
  readonly logger: Logger;
  readonly now: () => number;
  readonly random?: () => number;
}

/** Why a claim was refused for good. */
export type RefusalReason =
  /** The claim names an authorization server we do not send our secret to. */
  | 'server_not_allowed'
  /** The server does not know the refresh token for our app (`invalid_grant`, `invalid_client`, …). */
  | 'not_our_tokens'
  /** The tokens are ours, but for another portal than the claim names. */
  | 'member_mismatch';

/** The outcome of verifying a claim with the authorization server. */
export type Verification =
  | { readonly kind: 'verified'; readonly issued: IssuedTokens; readonly serverEndpoint: string }
  | { readonly kind: 'refused'; readonly reason: RefusalReason; readonly error?: string | undefined }
  /** The server could not be asked (down, slow, 5xx, nonsense): try again later. */
  | { readonly kind: 'unavailable'; readonly error: string };

export type RegistrationOutcome =
  | {
      readonly kind: 'registered';
      readonly memberId: string;
      readonly userId: number;
      /** Portal REST base from the server's answer, e.g. `https://portal.bitrix24.com/rest/`. */
      readonly clientEndpoint: string;
      /** Whether the portal was unknown or uninstalled before (a first install or a reinstall). */
      readonly newInstallation: boolean;
      /** A newer chain of the same user was stored meanwhile and kept; the claim's chain was not stored. */
      readonly keptNewerChain: boolean;
    }
  /** The same message was finished already (a second delivery, a reloaded frame). Nothing changed. */
  | { readonly kind: 'duplicate'; readonly memberId: string; readonly installation?: Installation | undefined }
  /** The portal uninstalled the app after the claim was received: the claim is void. */
  | { readonly kind: 'stale'; readonly memberId: string }
  /** Verification could not finish; the claim is parked and will be finished later. */
  | { readonly kind: 'parked'; readonly memberId: string; readonly dueAt: number }
  | { readonly kind: 'refused'; readonly memberId: string; readonly reason: RefusalReason };

/**
 * Verifies a claim that just arrived and stores it; parks it when the authorization server cannot
 * answer now. Refusals write nothing.
 *
 * @example
 * const outcome = await registerInstallation(claimFromInstallEvent(wire, 'ONAPPINSTALL', now), deps);
 * if (outcome.kind === 'parked') return json(202, { status: 'accepted' });
 */
export async function registerInstallation(
  claim: InstallClaim,
  deps: RegisterInstallationDeps,
): Promise<RegistrationOutcome> {
  const id = claimId(claim);
  if (await deps.parked.hasReceipt(claim.memberId, id)) {
    return {
      kind: 'duplicate',
      memberId: claim.memberId,
      installation: await deps.tokens.getInstallation(claim.memberId),
    };
  }
  const verification = await verifyClaim(claim, deps);
  switch (verification.kind) {
    case 'verified':
      return storeVerifiedClaim(claim, verification, deps);
    case 'refused':
      return refusedOrDuplicate(claim, id, verification.reason, deps);
    case 'unavailable': {
      const now = deps.now();
      const dueAt = now + backoffDelayMs(1, deps.parking.retry, deps.random);
      const parked = await deps.parked.park(
        { id, claim, attempts: 1, dueAt, parkedAt: now, lastError: verification.error },
        Math.ceil(deps.parking.maxAgeMs / 1000),
      );
      deps.logger.warn('install claim parked', {
        memberId: claim.memberId,
        trigger: claim.trigger,
        error: verification.error,
        alreadyParked: !parked,
      });
      return { kind: 'parked', memberId: claim.memberId, dueAt };
    }
  }
}

/**
 * The claim's refresh token was refused. If the same message was finished meanwhile (a duplicate that
 * raced the first delivery), that explains it; otherwise the claim is forged or dead.
 */
async function refusedOrDuplicate(
  claim: InstallClaim,
  id: string,
  reason: RefusalReason,
  deps: RegisterInstallationDeps,
): Promise<RegistrationOutcome> {
  if (reason === 'not_our_tokens' && (await deps.parked.hasReceipt(claim.memberId, id))) {
    return {
      kind: 'duplicate',
      memberId: claim.memberId,
      installation: await deps.tokens.getInstallation(claim.memberId),
    };
  }
  return { kind: 'refused', memberId: claim.memberId, reason };
}

/**
 * Asks the authorization server(s) of the claim, in order, to refresh its token with our credentials.
 * A refusal moves on to the next candidate (a server that does not know a token refuses it without
 * spending it); an outage stops at once so the claim can be retried as a whole.
 */
export async function verifyClaim(claim: InstallClaim, deps: RegisterInstallationDeps): Promise<Verification> {
  let refusal: Verification = { kind: 'refused', reason: 'server_not_allowed' };
  for (const serverEndpoint of claim.serverEndpoints) {
    if (!allowedServerEndpoint(serverEndpoint, deps.allowedAuthServers)) continue;
    let issued: IssuedTokens;
    try {
      issued = await deps.oauth.refresh({ serverEndpoint, refreshToken: claim.refreshToken });
    } catch (error) {
      if (error instanceof BitrixOAuthError) {
        if (error.category === 'transient') return { kind: 'unavailable', error: error.error };
        refusal = { kind: 'refused', reason: 'not_our_tokens', error: error.error };
        continue;
      }
      if (error instanceof ValidationError) continue; // the client's own allow-list said no
      // Credentials unreadable, a bug, an SDK failure: not the claim's fault. Keep it and try later.
      deps.logger.error('install claim verification failed', { memberId: claim.memberId, error });
      return { kind: 'unavailable', error: OWN_ERROR_CODES.internalError };
    }
    // The answer is the server's word on which portal the chain belongs to; the claim is not.
    if (issued.memberId !== claim.memberId) return { kind: 'refused', reason: 'member_mismatch' };
    return { kind: 'verified', issued, serverEndpoint };
  }
  return refusal;
}

/** Only https endpoints on an allow-listed host, without credentials in the URL. */
function allowedServerEndpoint(serverEndpoint: string, allowed: readonly string[]): boolean {
  try {
    const url = new URL(serverEndpoint);
    return (
      url.protocol === 'https:' &&
      url.username === '' &&
      url.password === '' &&
      allowed.includes(url.host.toLowerCase())
    );
  } catch {
    return false;
  }
}

/**
 * Stores a verified claim: the installation (active, with the application token's hash and the
 * endpoints the server named) and the user's new chain, then a receipt. Every write is conditional on
 * the version read; a lost race re-reads and decides again, so a newer chain is never overwritten.
 */
export async function storeVerifiedClaim(
  claim: InstallClaim,
  verified: { readonly issued: IssuedTokens; readonly serverEndpoint: string },
  deps: RegisterInstallationDeps,
): Promise<RegistrationOutcome> {
  const { issued } = verified;
  const userId = issued.userId === 0 && claim.claimedUserId !== undefined ? claim.claimedUserId : issued.userId;
  // The answer's server_endpoint is the server's word; it must still be one we may call later.
  const serverEndpoint = allowedServerEndpoint(issued.serverEndpoint, deps.allowedAuthServers)
    ? issued.serverEndpoint
    : verified.serverEndpoint;

  const installed = await saveInstallation(claim, issued.clientEndpoint, serverEndpoint, issued, userId, deps);
  if (installed === 'stale') return { kind: 'stale', memberId: claim.memberId };

  const keptNewerChain = await storeChain(claim, issued, serverEndpoint, userId, deps);

  // An uninstall that ran between our installation write and our token write deleted the tokens
  // before we wrote ours: remove them again rather than keep tokens of an uninstalled app.
  const after = await deps.tokens.getInstallation(claim.memberId);
  if (after === undefined || after.status === 'uninstalled') {
    await deps.tokens.deleteTokenSets(claim.memberId);
    return { kind: 'stale', memberId: claim.memberId };
  }
  await deps.parked.recordReceipt(claim.memberId, claimId(claim), deps.now(), deps.receiptTtlSeconds);
  return {
    kind: 'registered',
    memberId: claim.memberId,
    userId,
    clientEndpoint: issued.clientEndpoint,
    newInstallation: installed.newInstallation,
    keptNewerChain,
  };
}

async function saveInstallation(
  claim: InstallClaim,
  clientEndpoint: string,
  serverEndpoint: string,
  issued: IssuedTokens,
  userId: number,
  deps: RegisterInstallationDeps,
): Promise<'stale' | { newInstallation: boolean }> {
  for (let attempt = 1; ; attempt += 1) {
    const existing = await deps.tokens.getInstallation(claim.memberId);
    if (existing?.status === 'uninstalled' && (existing.uninstalledAt ?? existing.updatedAt) > claim.receivedAt) {
      return 'stale';
    }
    const fresh = existing === undefined || existing.status === 'uninstalled';
    if (
      !fresh &&
      existing.applicationTokenHash !== undefined &&
      claim.applicationTokenHash !== undefined &&
      existing.applicationTokenHash !== claim.applicationTokenHash
    ) {
      // Legitimate after ONAPPUPDATE; worth a look otherwise (see docs/LIFECYCLE.md).
      deps.logger.warn('application token replaced', { memberId: claim.memberId, trigger: claim.trigger });
    }
    const now = deps.now();
    try {
      await deps.tokens.saveInstallation(
        {
          memberId: claim.memberId,
          domain: domainFromEndpoint(clientEndpoint),
          clientEndpoint,
          serverEndpoint,
          status: 'active',
          // A reinstall has a new application token; the old one's hash is worthless then.
          applicationTokenHash: claim.applicationTokenHash ?? (fresh ? undefined : existing.applicationTokenHash),
          appStatus: issued.appStatus ?? existing?.appStatus,
          scope: claim.scope ?? (issued.scope !== undefined && issued.scope !== 'app' ? issued.scope : existing?.scope),
          appVersion: claim.appVersion ?? existing?.appVersion,
          installedBy: fresh ? userId : (existing.installedBy ?? userId),
          installedAt: fresh ? now : existing.installedAt,
          uninstalledAt: undefined,
          now,
        },
        existing?.version ?? null,
      );
      return { newInstallation: fresh };
    } catch (error) {
      if (!(error instanceof TokenConflictError) || attempt >= WRITE_ATTEMPTS) throw error;
    }
  }
}

/** Stores the new chain unless a healthy chain of the same user was written after the claim arrived. */
async function storeChain(
  claim: InstallClaim,
  issued: IssuedTokens,
  serverEndpoint: string,
  userId: number,
  deps: RegisterInstallationDeps,
): Promise<boolean> {
  const key = { memberId: claim.memberId, userId };
  const chain = {
    ...issued,
    userId,
    serverEndpoint,
    scope: claim.scope ?? issued.scope,
    source: claim.trigger === 'install_page' ? ('install_page' as const) : ('install_event' as const),
    refreshExpiresAt: issued.refreshIssuedAt + deps.refreshTokenLifetimeMs,
    nextRefreshAt: deps.nextRefreshAt(issued),
  };
  for (let attempt = 1; ; attempt += 1) {
    const existing = await deps.tokens.getTokenSet(key);
    if (existing !== undefined && HEALTHY.has(existing.status) && existing.updatedAt > claim.receivedAt) return true;
    const now = deps.now();
    // The pair is the answer of the refresh that verified the claim: the chain's last refresh is that one.
    const history = withChain(existing?.history, {
      at: now,
      source: chain.source,
      accessExpiresAt: issued.accessExpiresAt,
      refreshed: true,
    });
    try {
      await deps.tokens.storeNewChain(
        { ...chain, refreshedAt: issued.refreshIssuedAt, history, now },
        existing?.version ?? null,
      );
      return false;
    } catch (error) {
      if (!(error instanceof TokenConflictError) || attempt >= WRITE_ATTEMPTS) throw error;
    }
  }
}
