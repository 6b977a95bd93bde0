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
  /** epoch ms of the next attempt. */
  readonly dueAt: number;
  readonly parkedAt: number;
  /** Machine code of the last failure (`timeout`, `http_503`, …), never a token. */
  readonly lastError?: string | undefined;
}

/** Back-off settings of parked claims. */
export interface ParkingPolicy {
  /** Delay before the first retry. */
  readonly baseDelayMs: number;
  /** Longest delay between two retries. */
  readonly maxDelayMs: number;
  /** A claim older than this is dropped (its refresh token is assumed dead). */
  readonly maxAgeMs: number;
}

/**
 * Delay before the attempt after `attempts` failed ones: doubling from the base, capped, with up to
 * 20 % jitter taken from `random` (0..1) so parked claims of an outage do not all retry together.
 *
 * @example
 * retryDelayMs(1, { baseDelayMs: 60_000, maxDelayMs: 3_600_000, maxAgeMs }, () => 0) // → 60_000
 */
export function retryDelayMs(attempts: number, policy: ParkingPolicy, random: () => number = Math.random): number {
  const exponent = Math.max(0, Math.min(attempts - 1, 30));
  const delay = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent);
  return Math.round(delay * (1 + 0.2 * Math.min(1, Math.max(0, random()))));
}

/** Whether a parked claim is too old to try again. */
export function parkedTooOld(event: Pick<ParkedEvent, 'claim'>, now: number, policy: ParkingPolicy): boolean {
  return now - event.claim.receivedAt > policy.maxAgeMs;
}
