import { applicationTokenChange } from '#shared/core/domain/application-token.js';
import { backoffDelayMs } from '#shared/core/domain/backoff.js';
import { BitrixOAuthError, OWN_ERROR_CODES, TokenConflictError, ValidationError } from '#shared/core/domain/errors.js';
import { claimId, type InstallClaim } from '#shared/core/domain/lifecycle-events.js';
import { once } from '#shared/core/domain/once.js';
import {
  earlierSpendInDoubt,
  type ParkedEvent,
  type ParkingPolicy,
  parkedTooOld,
  type VerifiedPair,
} from '#shared/core/domain/parked-event.js';
import { MINUTE } from '#shared/core/domain/time.js';
import { withChain } from '#shared/core/domain/token-history.js';
import {
  accessTokenValid,
  domainFromEndpoint,
  type Installation,
  type IssuedTokens,
  type TokenStatus,
} from '#shared/core/domain/token-set.js';
import type { CredentialsHealth } from '#shared/core/ports/credentials-health.js';
import type { Logger } from '#shared/core/ports/logger.js';
import { METRIC_NAMES, type MetricsRecorder } from '#shared/core/ports/metrics.js';
import { NOTIFICATION_REASONS, type NotificationPublisher } from '#shared/core/ports/notification-publisher.js';
import type { BitrixOAuthClient } from '#shared/core/ports/oauth-client.js';
import type { ParkedEventRepository } from '#shared/core/ports/parked-event-repository.js';
import type { PortalProfile } from '#shared/core/ports/portal-profile.js';
import type { TokenRepository } from '#shared/core/ports/token-repository.js';
import { notifyAboutClaim } from './notify-operators.js';
import { recordHistory } from './record-history.js';
import { credentialsAcceptedSince } from './watch-credentials.js';

/**
 * Finishes an install claim (ONAPPINSTALL, ONAPPUPDATE or the install frame's POST) from its parked
 * copy: verifies it with the authorization server, then stores the installation and the new chain.
 *
 * How authenticity is established (docs/PROTOCOL.md §4.3, §6): nothing in the message is
 * trusted. We spend the claim's refresh token with OUR client credentials on an allow-listed
 * authorization server. The server answers only for a chain it issued to our app, and its answer
 * names the portal (`member_id`); it must be the portal the claim names. The answer's new pair is what
 * we store. Forged claims — tokens of another app, random tokens, another portal's `member_id`, a
 * server off the allow-list — change nothing.
 *
 * Why the claim is parked before it is verified (docs/adr/0006-every-spend-ends-stored-or-reported.md):
 * verifying spends the claim's only refresh token, and Bitrix24 never sends the event again. So the
 * claim is durable before the spend, the pair the server answers is kept in the parked claim before
 * it is stored, and every way an attempt can end leaves either the tokens stored, the claim parked for
 * the next attempt, or an `install_lost` notification.
 */

/** Token statuses of a chain worth keeping over a newer claim's chain. */
const HEALTHY: ReadonlySet<TokenStatus> = new Set<TokenStatus>(['active', 'degraded']);
/** Writes that lose a race re-read and decide again this many times. */
const WRITE_ATTEMPTS = 5;

export interface InstallClaimDeps {
  readonly tokens: TokenRepository;
  readonly parked: ParkedEventRepository;
  /** The authorization server client. */
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
  /** Asks the portal whether a claim's user is an administrator (before a new application token is stored). */
  readonly profiles: PortalProfile;
  /** When our client credentials were last accepted: tells a claim for a portal without our app from wrong credentials. */
  readonly credentials?: CredentialsHealth | undefined;
  readonly notifications: NotificationPublisher;
  readonly metrics: MetricsRecorder;
  readonly logger: Logger;
  readonly now: () => number;
  readonly random?: () => number;
  /** Real waiting between attempts to park a claim. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Why a claim was refused for good. */
export type RefusalReason =
  /** The claim names an authorization server we do not send our secret to. */
  | 'server_not_allowed'
  /** The server does not know the refresh token for our app (`invalid_grant`, …). */
  | 'not_our_tokens'
  /** The tokens are ours, but for another portal than the claim names. */
  | 'member_mismatch';

/** The outcome of verifying a claim with the authorization server. */
export type Verification =
  | ({ readonly kind: 'verified' } & VerifiedPair)
  | { readonly kind: 'refused'; readonly reason: RefusalReason; readonly error?: string | undefined }
  /** Our client credentials were refused: nothing was spent; kept until they work again. */
  | { readonly kind: 'credentials_refused' }
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
  /** The claim could not be finished now; it stays parked and is finished later. */
  | { readonly kind: 'parked'; readonly memberId: string; readonly dueAt: number; readonly error: string }
  | { readonly kind: 'refused'; readonly memberId: string; readonly reason: RefusalReason }
  /** The claim ended without its tokens stored; operators were told (`install_lost`). */
  | { readonly kind: 'lost'; readonly memberId: string; readonly reason: string };

/**
 * Finishes a claim this caller has taken (parked with `attempts` counting this attempt, its `dueAt`
 * moved past the attempt, so no other worker starts it meanwhile).
 *
 * @example
 * const event = await deps.parked.claim(key, now + 60_000);
 * if (event) await finishInstallClaim(event, deps);
 */
export async function finishInstallClaim(event: ParkedEvent, deps: InstallClaimDeps): Promise<RegistrationOutcome> {
  const { claim } = event;
  if (await deps.parked.hasReceipt(claim.memberId, event.id)) {
    // Finished by an earlier attempt whose removal of the parked copy failed.
    await removeParked(event, deps);
    return { kind: 'duplicate', memberId: claim.memberId };
  }
  // A pair kept by an earlier attempt: store it; never spend anything again.
  if (event.pair !== undefined) {
    if (deps.now() >= pairExpiresAt(event.pair, deps)) {
      return reportLost(event, NOTIFICATION_REASONS.installPairUnsaved, deps);
    }
    return storePair(event, event.pair, 'held', deps);
  }
  if (parkedTooOld(event, deps.now(), deps.parking)) {
    return reportLost(event, expiryReason(event), deps);
  }
  if (event.lastError === OWN_ERROR_CODES.invalidGrantInDoubt) {
    // The grace after a refusal in doubt is over and no attempt kept a pair (this read is fresh).
    return reportLost(event, NOTIFICATION_REASONS.verificationAnswerLost, deps);
  }

  const verification = await verifyClaim(claim, deps);
  switch (verification.kind) {
    case 'verified': {
      const pair: VerifiedPair = { issued: verification.issued, serverEndpoint: verification.serverEndpoint };
      return storePair(event, pair, await holdPair(event, pair, deps), deps);
    }
    case 'credentials_refused':
      // Refused again though our credentials were accepted since the last refusal: they are fine, the
      // claim is not ours to verify (the app is not installed on that portal).
      if (
        event.lastError === 'invalid_client' &&
        event.lastAttemptAt !== undefined &&
        (await credentialsAcceptedSince(deps.credentials, event.lastAttemptAt))
      ) {
        return refuse(event, 'not_our_tokens', 'invalid_client', deps);
      }
      // Not spent (the server refused us, not the token): kept until the credentials are fixed.
      deps.metrics.count(METRIC_NAMES.credentialsRefused);
      return retryLater(event, { error: 'invalid_client', settled: true }, deps);
    case 'unavailable':
      // A timeout or a dropped connection may have spent the token: the attempt stays in doubt.
      return retryLater(
        event,
        { error: verification.error, settled: verification.error === OWN_ERROR_CODES.internalError },
        deps,
      );
    case 'refused':
      if (verification.reason === 'not_our_tokens' && earlierSpendInDoubt(event)) {
        // An earlier attempt may have spent the token and may still be storing its pair (a stalled
        // worker past its turn). Decide after a grace period, from what is stored by then.
        return retryLater(event, { error: OWN_ERROR_CODES.invalidGrantInDoubt, settled: false }, deps);
      }
      return refuse(event, verification.reason, verification.error, deps);
  }
}

/**
 * Asks the authorization server(s) of the claim, in order, to refresh its token with our credentials.
 * A refusal moves on to the next candidate (a server that does not know a token refuses it without
 * spending it); an outage stops at once so the claim can be retried as a whole. Spends the claim's
 * refresh token: call it only on a claim that is parked and taken.
 */
export async function verifyClaim(claim: InstallClaim, deps: InstallClaimDeps): Promise<Verification> {
  let refusal: Verification = { kind: 'refused', reason: 'server_not_allowed' };
  for (const serverEndpoint of claim.serverEndpoints) {
    if (!allowedServerEndpoint(serverEndpoint, deps.allowedAuthServers)) continue;
    let issued: IssuedTokens;
    try {
      issued = await deps.oauth.refresh({ serverEndpoint, refreshToken: claim.refreshToken });
    } catch (error) {
      if (error instanceof BitrixOAuthError) {
        if (error.category === 'transient') return { kind: 'unavailable', error: error.error };
        // Another candidate may still know the token; our credentials being refused outranks a refusal.
        if (error.category === 'invalid_client') refusal = { kind: 'credentials_refused' };
        else if (refusal.kind !== 'credentials_refused') {
          refusal = { kind: 'refused', reason: 'not_our_tokens', error: error.error };
        }
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
export function allowedServerEndpoint(serverEndpoint: string, allowed: readonly string[]): boolean {
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

/** Where a verified pair is kept until stored: in the parked claim, or (the write failed) not known. */
type PairKeeping = 'held' | 'gone' | 'unknown';

/** Keeps the pair in the parked claim (and the claim until the pair's window closes). */
async function holdPair(event: ParkedEvent, pair: VerifiedPair, deps: InstallClaimDeps): Promise<PairKeeping> {
  try {
    return (await deps.parked.holdPair(event.claim.memberId, event.id, pair, pairExpiresAt(pair, deps)))
      ? 'held'
      : 'gone';
  } catch (error) {
    // Storing the pair may still work; if it does not either, we look for the pair before concluding.
    deps.logger.warn('verified pair not kept in the parked claim', { memberId: event.claim.memberId, error });
    return 'unknown';
  }
}

function pairExpiresAt(pair: VerifiedPair, deps: InstallClaimDeps): number {
  return pair.issued.refreshIssuedAt + deps.refreshTokenLifetimeMs;
}

async function storePair(
  event: ParkedEvent,
  pair: VerifiedPair,
  keeping: PairKeeping,
  deps: InstallClaimDeps,
): Promise<RegistrationOutcome> {
  let outcome: RegistrationOutcome;
  try {
    outcome = await storeVerifiedClaim(event.claim, pair, deps);
  } catch (error) {
    deps.logger.warn('verified install claim not stored', { memberId: event.claim.memberId, keeping, error });
    if (keeping === 'held') return retryLater(event, { error: errorCode(error), settled: false }, deps);
    const found = await findPair(event, pair, deps);
    if (found === 'stored') return { kind: 'duplicate', memberId: event.claim.memberId };
    if (found === 'held') return retryLater(event, { error: errorCode(error), settled: false }, deps);
    return reportLost(event, NOTIFICATION_REASONS.installPairUnsaved, deps);
  }
  await removeParked(event, deps);
  return outcome;
}

/**
 * After every write of a verified pair failed: is it stored after all (a write that landed while its
 * answer was lost), kept in the parked claim, or nowhere we can see?
 */
async function findPair(
  event: ParkedEvent,
  pair: VerifiedPair,
  deps: InstallClaimDeps,
): Promise<'stored' | 'held' | 'nowhere'> {
  const key = { memberId: event.claim.memberId, userId: chainUserId(event.claim, pair.issued) };
  try {
    const stored = await deps.tokens.getTokenSet(key);
    if (stored?.refreshToken === pair.issued.refreshToken) return 'stored';
  } catch {
    // Unreadable: look at the parked claim.
  }
  try {
    const parked = await deps.parked.get(event.claim.memberId, event.id);
    if (parked?.pair?.issued.refreshToken === pair.issued.refreshToken) return 'held';
  } catch {
    // Unreadable too: the pair is only in this process.
  }
  return 'nowhere';
}

async function retryLater(
  event: ParkedEvent,
  failure: { readonly error: string; readonly settled: boolean },
  deps: InstallClaimDeps,
): Promise<RegistrationOutcome> {
  const now = deps.now();
  const dueAt = now + backoffDelayMs(Math.max(1, event.attempts), deps.parking.retry, deps.random);
  try {
    await deps.parked.reschedule(event.claim.memberId, event.id, {
      at: now,
      dueAt,
      lastError: failure.error,
      settledAttempts: failure.settled ? event.attempts : undefined,
    });
  } catch (error) {
    // The take already moved the claim's due time: it comes back anyway, a little sooner.
    deps.logger.warn('parked install claim not rescheduled', { memberId: event.claim.memberId, error });
  }
  deps.logger.info('install claim parked', {
    memberId: event.claim.memberId,
    trigger: event.claim.trigger,
    attempts: event.attempts,
    error: failure.error,
    dueAt,
  });
  return { kind: 'parked', memberId: event.claim.memberId, dueAt, error: failure.error };
}

async function refuse(
  event: ParkedEvent,
  reason: RefusalReason,
  error: string | undefined,
  deps: InstallClaimDeps,
): Promise<RegistrationOutcome> {
  const { claim } = event;
  // A duplicate that raced the first delivery finds its token spent by that delivery.
  if (reason === 'not_our_tokens' && (await deps.parked.hasReceipt(claim.memberId, event.id))) {
    await removeParked(event, deps);
    return {
      kind: 'duplicate',
      memberId: claim.memberId,
      installation: await deps.tokens.getInstallation(claim.memberId),
    };
  }
  try {
    await deps.parked.remove(claim.memberId, event.id);
  } catch (removeError) {
    // Nothing was spent: say so, so that the next attempt's refusal is not taken for a lost answer.
    deps.logger.warn('refused install claim not removed', { memberId: claim.memberId, error: removeError });
    await deps.parked
      .reschedule(claim.memberId, event.id, {
        at: deps.now(),
        dueAt: deps.now(),
        lastError: error ?? reason,
        settledAttempts: event.attempts,
      })
      .catch(() => undefined);
  }
  deps.logger.warn('install claim refused', { memberId: claim.memberId, trigger: claim.trigger, reason, error });
  return { kind: 'refused', memberId: claim.memberId, reason };
}

function expiryReason(event: ParkedEvent): string {
  if (earlierSpendInDoubt(event)) return NOTIFICATION_REASONS.verificationAnswerLost;
  if (event.lastError === 'invalid_client') return NOTIFICATION_REASONS.credentialsRejected;
  return NOTIFICATION_REASONS.claimExpired;
}

/** Ends a claim whose tokens were not stored, and tells operators: never a silent loss. */
async function reportLost(event: ParkedEvent, reason: string, deps: InstallClaimDeps): Promise<RegistrationOutcome> {
  const { claim } = event;
  deps.metrics.count(METRIC_NAMES.installLost, 1, { reason });
  deps.logger.error('install lost', {
    memberId: claim.memberId,
    trigger: claim.trigger,
    attempts: event.attempts,
    reason,
    lastError: event.lastError,
  });
  await notifyAboutClaim('install_lost', claim, { reason, at: deps.now() }, deps);
  try {
    await deps.parked.remove(claim.memberId, event.id);
  } catch (error) {
    // Reported already; settle the attempt so that the next one refuses quietly instead of reporting again.
    deps.logger.warn('lost install claim not removed', { memberId: claim.memberId, error });
    await deps.parked
      .reschedule(claim.memberId, event.id, {
        at: deps.now(),
        dueAt: deps.now(),
        lastError: reason,
        settledAttempts: event.attempts,
      })
      .catch(() => undefined);
  }
  return { kind: 'lost', memberId: claim.memberId, reason };
}

async function removeParked(event: ParkedEvent, deps: InstallClaimDeps): Promise<void> {
  try {
    await deps.parked.remove(event.claim.memberId, event.id);
  } catch (error) {
    // The receipt says it is finished: the next attempt removes it (and its TTL would).
    deps.logger.warn('finished install claim not removed', { memberId: event.claim.memberId, error });
  }
}

function errorCode(error: unknown): string {
  return error instanceof TokenConflictError ? 'write_conflict' : 'write_failed';
}

/** The user whose chain the pair is: the server's word, the claim's only when the answer lacks it. */
function chainUserId(claim: InstallClaim, issued: IssuedTokens): number {
  return issued.userId === 0 && claim.claimedUserId !== undefined ? claim.claimedUserId : issued.userId;
}

/**
 * Stores a verified claim: the installation (active, with the application token's hash and the
 * endpoints the server named) and the user's new chain, then a receipt. Every write is conditional on
 * the version read; a lost race re-reads and decides again, so a newer chain is never overwritten.
 * Safe to repeat with the same pair (a retry after a failed write).
 */
export async function storeVerifiedClaim(
  claim: InstallClaim,
  verified: VerifiedPair,
  deps: InstallClaimDeps,
): Promise<RegistrationOutcome> {
  const { issued } = verified;
  const userId = chainUserId(claim, issued);
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

/** Whether the claim's user is shown to be an administrator of the portal, asked with the new token. */
type AdminProof = 'admin' | typeof NOTIFICATION_REASONS.notAdmin | typeof NOTIFICATION_REASONS.adminUnconfirmed;

async function adminProof(
  claim: InstallClaim,
  issued: IssuedTokens,
  userId: number,
  deps: InstallClaimDeps,
): Promise<AdminProof> {
  try {
    const admin = await deps.profiles.isAdmin({
      clientEndpoint: issued.clientEndpoint,
      accessToken: await accessTokenOfUser(claim.memberId, userId, issued, deps),
    });
    return admin ? 'admin' : NOTIFICATION_REASONS.notAdmin;
  } catch (error) {
    deps.logger.warn('portal profile not read', { memberId: claim.memberId, error });
    return NOTIFICATION_REASONS.adminUnconfirmed;
  }
}

/** How long an access token must still be valid to ask the portal with it. */
const ADMIN_CHECK_MARGIN_MS = MINUTE;

/**
 * An access token of the claim's user to ask the portal with: the verified pair's, or, when that has
 * expired (a claim stored long after its verification, after a DynamoDB outage), the user's stored one,
 * which the sweep has kept fresh since. Whose token it is, not which pair, answers the question.
 */
async function accessTokenOfUser(
  memberId: string,
  userId: number,
  issued: IssuedTokens,
  deps: InstallClaimDeps,
): Promise<string> {
  if (accessTokenValid(issued, deps.now(), ADMIN_CHECK_MARGIN_MS)) return issued.accessToken;
  const stored = await deps.tokens.getTokenSet({ memberId, userId });
  if (stored !== undefined && accessTokenValid(stored, deps.now(), ADMIN_CHECK_MARGIN_MS)) return stored.accessToken;
  return issued.accessToken;
}

async function saveInstallation(
  claim: InstallClaim,
  clientEndpoint: string,
  serverEndpoint: string,
  issued: IssuedTokens,
  userId: number,
  deps: InstallClaimDeps,
): Promise<'stale' | { newInstallation: boolean }> {
  // Asked at most once, and only when the claim would change the stored application token.
  const proof = once(() => adminProof(claim, issued, userId, deps));
  for (let attempt = 1; ; attempt += 1) {
    const existing = await deps.tokens.getInstallation(claim.memberId);
    if (existing?.status === 'uninstalled' && (existing.uninstalledAt ?? existing.updatedAt) > claim.receivedAt) {
      return 'stale';
    }
    const fresh = existing === undefined || existing.status === 'uninstalled';
    // A reinstall has a new application token; the old one's hash is worthless then.
    const storedHash = fresh ? undefined : existing.applicationTokenHash;
    let applicationTokenHash = storedHash;
    let refused: AdminProof | undefined;
    const change = applicationTokenChange({
      fromFrame: claim.trigger === 'install_page',
      claimedHash: claim.applicationTokenHash,
      storedHash,
    });
    if (change === 'needs_admin') {
      const verdict = await proof();
      if (verdict === 'admin') applicationTokenHash = claim.applicationTokenHash;
      else refused = verdict;
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
          applicationTokenHash,
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
    } catch (error) {
      if (!(error instanceof TokenConflictError) || attempt >= WRITE_ATTEMPTS) throw error;
      continue;
    }
    if (refused !== undefined) await reportTokenKept(claim, userId, refused, deps);
    return { newInstallation: fresh };
  }
}

/**
 * A verified claim brought a new application token but its user is not shown to be an administrator:
 * the old token (or none) stays, so an employee holding a refresh token cannot make a forged
 * ONAPPUNINSTALL pass. Told to operators: a genuine update by a non-admin needs a look.
 */
async function reportTokenKept(
  claim: InstallClaim,
  userId: number,
  reason: AdminProof,
  deps: InstallClaimDeps,
): Promise<void> {
  deps.metrics.count(METRIC_NAMES.applicationTokenRefused, 1, { reason });
  deps.logger.warn('application token kept', { memberId: claim.memberId, trigger: claim.trigger, userId, reason });
  await notifyAboutClaim('application_token_refused', claim, { reason, at: deps.now(), userId }, deps);
}

/** Stores the new chain unless a healthy chain of the same user was written after the claim arrived. */
async function storeChain(
  claim: InstallClaim,
  issued: IssuedTokens,
  serverEndpoint: string,
  userId: number,
  deps: InstallClaimDeps,
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
    // Our own pair, stored by an earlier attempt whose answer was lost.
    if (existing?.refreshToken === issued.refreshToken) return false;
    if (existing !== undefined && HEALTHY.has(existing.status) && existing.updatedAt > claim.receivedAt) return true;
    const now = deps.now();
    try {
      // The pair is the answer of the refresh that verified the claim: the chain's last refresh is that one.
      await deps.tokens.storeNewChain(
        { ...chain, refreshedAt: issued.refreshIssuedAt, runRefreshes: 1, now },
        existing?.version ?? null,
      );
    } catch (error) {
      if (!(error instanceof TokenConflictError) || attempt >= WRITE_ATTEMPTS) throw error;
      continue;
    }
    await recordHistory(
      key,
      existing,
      (h) => withChain(h, { at: now, source: chain.source, accessExpiresAt: issued.accessExpiresAt, refreshed: true }),
      { store: deps.tokens, logger: deps.logger, now: deps.now },
    );
    return false;
  }
}

/**
 * Takes one parked claim by its key and finishes it, if it is due (a claim another worker holds, or
 * one backing off, is left alone). For a trigger that names one claim: the table's stream.
 *
 * @example
 * const outcome = await finishParkedClaim({ memberId, id }, deps); // undefined: gone, not due or taken
 */
export async function finishParkedClaim(
  key: { readonly memberId: string; readonly id: string },
  deps: InstallClaimDeps,
): Promise<RegistrationOutcome | undefined> {
  const event = await deps.parked.get(key.memberId, key.id);
  const now = deps.now();
  if (event === undefined || event.dueAt > now) return undefined;
  const taken = await deps.parked.claim(
    { ...key, dueAt: event.dueAt },
    now + backoffDelayMs(1, deps.parking.retry, deps.random),
  );
  return taken === undefined ? undefined : finishInstallClaim(taken, deps);
}
