import type { BitrixEmulator } from '#local/emulator/index.js';
import type { TokenKey } from '#shared/core/domain/token-set.js';
import type { TokenStatusChange } from '#shared/core/ports/notification-publisher.js';
import type { TokenRepository } from '#shared/core/ports/token-repository.js';

/**
 * What became of every chain, judged by the emulator (which knows the one live refresh token of each
 * chain) against what the service stored and said.
 */
export interface ChainVerdict {
  readonly chains: number;
  /** Stored refresh token is the live one; status active or degraded. */
  readonly healthy: number;
  /** Stored refresh token dead (or the token set gone) while the service still calls it refreshable: the failure that must never happen. */
  readonly lostSilently: number;
  /** `reauth_required` while the stored refresh token is alive: the service gave up on a good chain. */
  readonly falseReauth: number;
  /** Dead and reported: a refresh was interrupted (process killed after the server rotated the token). */
  readonly interruptedSurfaced: number;
  /** Dead and reported: the server's answer was lost (5xx/timeout after it rotated the token). */
  readonly answerLostSurfaced: number;
  /** Dead and reported as `reauth_required` with another reason. */
  readonly otherSurfaced: number;
  /** Statuses at the end, for the record. */
  readonly statuses: Readonly<Record<string, number>>;
  /** Reasons of the `reauth_required` notifications of dead chains. */
  readonly reasons: Readonly<Record<string, number>>;
  /** Keys of chains lost silently or falsely marked, for debugging. */
  readonly suspects: readonly string[];
}

export async function judgeChains(
  emulator: BitrixEmulator,
  repository: Pick<TokenRepository, 'getTokenSet'>,
  keys: readonly TokenKey[],
  notifications: readonly TokenStatusChange[],
): Promise<ChainVerdict> {
  const lastReauthReason = new Map<string, string>();
  for (const change of notifications) {
    if (change.event === 'reauth_required') lastReauthReason.set(`${change.memberId}#${change.userId}`, change.reason);
  }
  let healthy = 0;
  let lostSilently = 0;
  let falseReauth = 0;
  let interruptedSurfaced = 0;
  let answerLostSurfaced = 0;
  let otherSurfaced = 0;
  const statuses: Record<string, number> = {};
  const reasons: Record<string, number> = {};
  const suspects: string[] = [];
  for (const key of keys) {
    const id = `${key.memberId}#${key.userId}`;
    const stored = await repository.getTokenSet(key);
    if (stored === undefined) {
      lostSilently += 1;
      suspects.push(`${id}: token set missing`);
      continue;
    }
    statuses[stored.status] = (statuses[stored.status] ?? 0) + 1;
    const live = emulator.tokenState(stored.refreshToken).state === 'live';
    if (stored.status === 'reauth_required') {
      if (live) {
        falseReauth += 1;
        suspects.push(`${id}: reauth_required with a live refresh token`);
        continue;
      }
      const reason = lastReauthReason.get(id) ?? '(no notification)';
      reasons[reason] = (reasons[reason] ?? 0) + 1;
      if (reason === 'invalid_grant_after_interrupted_refresh') interruptedSurfaced += 1;
      else if (reason === 'invalid_grant_after_transient_failure') answerLostSurfaced += 1;
      else otherSurfaced += 1;
      continue;
    }
    if (live) healthy += 1;
    else {
      lostSilently += 1;
      suspects.push(
        `${id}: ${stored.status} with a dead refresh token (${emulator.tokenState(stored.refreshToken).state})`,
      );
    }
  }
  return {
    chains: keys.length,
    healthy,
    lostSilently,
    falseReauth,
    interruptedSurfaced,
    answerLostSurfaced,
    otherSurfaced,
    statuses,
    reasons,
    suspects,
  };
}

/** The counts `npm run chaos` gates on: each must be 0. */
export interface ChaosGate {
  readonly lostSilently: number;
  readonly falseReauth: number;
  readonly unhandledErrors: number;
  readonly http5xx: number;
  readonly writesFromRejectedInput: number;
}

/** One chaos scenario's outcome: the gated counts plus what it did and saw. */
export interface ChaosReport {
  readonly name: string;
  readonly gate: ChaosGate;
  /** Everything else worth printing: faults injected, kills, surfaced losses, durations. */
  readonly observed: Readonly<Record<string, unknown>>;
}

export function gatePassed(gate: ChaosGate): boolean {
  return Object.values(gate).every((count) => count === 0);
}
