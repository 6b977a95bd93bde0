import type { EpochMs } from '#shared/core/domain/time.js';
import type { Backoff } from './backoff.js';
import type { InstallClaim } from './lifecycle-events.js';

/**
 * An install claim we acknowledged but could not verify yet (the authorization server was down or
 * slow). Bitrix24 never delivers an event twice, so the claim is kept until it is verified and stored,
 * refused for good, or too old. It holds a refresh token: it lives only in the encrypted token table
 * and is deleted once finished.
 */
export interface ParkedEvent {
  /** `claimId(claim)`: the same message parked twice is one item. */
  readonly id: string;
  readonly claim: InstallClaim;
  /** Verification attempts made so far (the one at receipt counts). */
  readonly attempts: number;
  /** of the next attempt. */
  readonly dueAt: EpochMs;
  readonly parkedAt: EpochMs;
  /** Machine code of the last failure (`timeout`, `http_503`, …), never a token. */
  readonly lastError?: string | undefined;
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
