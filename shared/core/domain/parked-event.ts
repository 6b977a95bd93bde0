import type { EpochMs } from '#shared/core/domain/time.js';
import type { Backoff } from './backoff.js';
import type { InstallClaim } from './lifecycle-events.js';
import type { IssuedTokens } from './token-set.js';

/**
 * An install claim, stored before anything is spent (docs/LIFECYCLE.md, "Claims are durable first").
 * Bitrix24 never delivers an event twice, so the claim is the only copy of its tokens: it is parked on
 * receipt, verified from the parked copy, and kept until it is stored, refused, or reported lost. It
 * holds a refresh token (and, once verified, a new pair): it lives only in the encrypted token table
 * and is deleted once finished.
 */
export interface ParkedEvent {
  /** `claimId(claim)`: the same message parked twice is one item. */
  readonly id: string;
  readonly claim: InstallClaim;
  /** Verification attempts started so far; each may have spent the claim's refresh token. */
  readonly attempts: number;
  /**
   * Attempts known not to have spent the token (the server refused or could not be reached before
   * the request left). `attempts - 1 > settledAttempts` at the start of an attempt means an earlier
   * one may have spent it and its answer never arrived: a refusal then is a lost install, reported.
   */
  readonly settledAttempts: number;
  /** of the next attempt. */
  readonly dueAt: EpochMs;
  readonly parkedAt: EpochMs;
  /** Machine code of the last failure (`timeout`, `http_503`, …), never a token. */
  readonly lastError?: string | undefined;
  /** When the last failed attempt ended. */
  readonly lastAttemptAt?: EpochMs | undefined;
  /** The pair the server answered, kept here until it is stored: the claim's own token is spent. */
  readonly pair?: VerifiedPair | undefined;
}

/** A verification's answer: the new pair and the server that issued it. */
export interface VerifiedPair {
  readonly issued: IssuedTokens;
  /** The server the claim was verified on (where the chain is refreshed later). */
  readonly serverEndpoint: string;
}

/**
 * Whether an earlier attempt on this claim may have spent its refresh token without its answer being
 * stored. Read at the start of an attempt (after `attempts` counted it).
 */
export function earlierSpendInDoubt(event: Pick<ParkedEvent, 'attempts' | 'settledAttempts'>): boolean {
  return event.attempts - 1 > event.settledAttempts;
}

/** Retry rules of parked claims. */
export interface ParkingPolicy {
  /** Back-off between attempts: doubling from the base, capped, plus up to a fifth (`PARKED_RETRY_SPREAD`). */
  readonly retry: Backoff;
  /** A claim older than this is dropped (its refresh token is assumed dead). */
  readonly maxAgeMs: number;
}

/** Parked claims of an outage retry a little later than the step, never sooner, and not all together. */
export const PARKED_RETRY_SPREAD = [1, 1.2] as const;

/** Whether a parked claim is too old to try again. */
export function parkedTooOld(event: Pick<ParkedEvent, 'claim'>, now: number, policy: ParkingPolicy): boolean {
  return now - event.claim.receivedAt > policy.maxAgeMs;
}
