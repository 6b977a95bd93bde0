import { type Backoff, backoffDelayMs } from '#shared/core/domain/backoff.js';
import { claimId, type InstallClaim } from '#shared/core/domain/lifecycle-events.js';
import type { ParkedEvent } from '#shared/core/domain/parked-event.js';
import { sleep } from '#shared/core/domain/time.js';
import {
  allowedServerEndpoint,
  finishInstallClaim,
  type InstallClaimDeps,
  type RegistrationOutcome,
} from './finish-install-claim.js';

/**
 * Receiving an install claim. Nothing is spent before the claim is durable: it is parked first
 * (docs/adr/0006-every-spend-ends-stored-or-reported.md), then verified from the parked copy — later,
 * by process-parked-events, for an event; at once, for the install frame, where a user waits.
 */

export type AcceptOutcome =
  /** Parked; verified and stored shortly by process-parked-events. */
  | { readonly kind: 'accepted'; readonly memberId: string; readonly alreadyParked: boolean }
  /** The same message was finished already (a second delivery). Nothing changed. */
  | { readonly kind: 'duplicate'; readonly memberId: string }
  /** It names no authorization server we send our secret to: refused without parking anything. */
  | { readonly kind: 'refused'; readonly memberId: string; readonly reason: 'server_not_allowed' };

/**
 * Parks an install event's claim, due at once, without spending anything. Throws when the claim
 * cannot be parked (then nothing was spent either: the caller answers 503).
 *
 * @example
 * const outcome = await acceptInstallClaim(claimFromInstallEvent(wire, 'ONAPPINSTALL', now), deps);
 */
export async function acceptInstallClaim(claim: InstallClaim, deps: InstallClaimDeps): Promise<AcceptOutcome> {
  if (!claim.serverEndpoints.some((endpoint) => allowedServerEndpoint(endpoint, deps.allowedAuthServers))) {
    return { kind: 'refused', memberId: claim.memberId, reason: 'server_not_allowed' };
  }
  const id = claimId(claim);
  // Bitrix24 sends the event once: a park that fails is tried again while the event waits for its
  // answer, beyond the SDK's own retries (which share a quota that a burst of throttling drains). A
  // write that landed unseen is found by the next attempt (parked already: accepted).
  for (let attempt = 1; ; attempt += 1) {
    try {
      if (await deps.parked.hasReceipt(claim.memberId, id)) return { kind: 'duplicate', memberId: claim.memberId };
      const now = deps.now();
      const parked = await deps.parked.park(
        { id, claim, attempts: 0, settledAttempts: 0, dueAt: now, parkedAt: now },
        parkedTtlSeconds(deps),
      );
      return { kind: 'accepted', memberId: claim.memberId, alreadyParked: !parked };
    } catch (error) {
      if (attempt >= PARK_ATTEMPTS) throw error;
      deps.logger.warn('install claim not parked yet; trying again', { memberId: claim.memberId, attempt, error });
      await (deps.sleep ?? sleep)(backoffDelayMs(attempt, PARK_RETRY, deps.random ?? Math.random));
    }
  }
}

/** Attempts to park an event's claim (each with the SDK's own retries) before it is answered 503. */
const PARK_ATTEMPTS = 4;
/** 200 ms, 400 ms, 800 ms between them (half random): about a second and a half in all. */
const PARK_RETRY: Backoff = { baseMs: 200, maxMs: 1000 };

/**
 * Parks a claim already taken by this caller and finishes it now: the install frame, whose user waits
 * for the answer. What cannot be finished now stays parked and is finished by process-parked-events.
 *
 * @example
 * const outcome = await registerInstallation(claimFromInstallFrame(body, now, options), deps);
 * if (outcome.kind === 'parked') return pendingPage();
 */
export async function registerInstallation(claim: InstallClaim, deps: InstallClaimDeps): Promise<RegistrationOutcome> {
  const id = claimId(claim);
  if (await deps.parked.hasReceipt(claim.memberId, id)) {
    return {
      kind: 'duplicate',
      memberId: claim.memberId,
      installation: await deps.tokens.getInstallation(claim.memberId),
    };
  }
  const now = deps.now();
  const taken: ParkedEvent = {
    id,
    claim,
    attempts: 1,
    settledAttempts: 0,
    // Taken by this attempt: nobody else starts it before this moment.
    dueAt: now + backoffDelayMs(1, deps.parking.retry, deps.random),
    parkedAt: now,
  };
  if (!(await deps.parked.park(taken, parkedTtlSeconds(deps)))) {
    // The same message is being finished by another request (a reload racing the first post).
    return { kind: 'parked', memberId: claim.memberId, dueAt: taken.dueAt, error: 'in_progress' };
  }
  return finishInstallClaim(taken, deps);
}

function parkedTtlSeconds(deps: InstallClaimDeps): number {
  return Math.ceil(deps.parking.maxAgeMs / 1000);
}
