import { backoffDelayMs } from '#shared/core/domain/backoff.js';
import type { EpochMs } from '#shared/core/domain/time.js';
import { finishInstallClaim, type InstallClaimDeps } from './finish-install-claim.js';

export interface FinishParkedEventsOptions {
  /** Stop starting new claims at this instant from the Lambda's remaining time). */
  readonly deadline: EpochMs;
  /** Claims read per query. @default 25 */
  readonly pageSize?: number;
}

export interface FinishParkedEventsSummary {
  /** Verified and stored (or found finished / void meanwhile). */
  readonly finished: number;
  /** The authorization server still could not answer; tried again later. */
  readonly retried: number;
  /** Refused for good: forged or not ours, removed with a warning. */
  readonly dropped: number;
  /** Ended without their tokens stored: reported as `install_lost`. */
  readonly lost: number;
  /** Taken by another worker, or left for lack of time. */
  readonly skipped: number;
  /** Claims still due when the run ended (published as `ParkedEventsBacklog`). */
  readonly backlog: number;
}

/**
 * Finishes parked install claims (scheduled): for each due claim, takes it (a conditional move of its
 * due time, so two overlapping runs never try the same claim) and finishes it (`finishInstallClaim`):
 * verified and stored, retried with exponential back-off, refused, or reported lost.
 *
 * @example
 * const summary = await finishParkedEvents(deps, { deadline: now + context.getRemainingTimeInMillis() - 5_000 });
 */
export async function finishParkedEvents(
  deps: InstallClaimDeps,
  options: FinishParkedEventsOptions,
): Promise<FinishParkedEventsSummary> {
  const counts = await processDue(deps, options);
  let backlog = 0;
  for (let shard = 0; shard < deps.parked.shards; shard += 1) {
    backlog += (await deps.parked.queryDue(shard, deps.now(), 1000)).length;
  }
  return { ...counts, backlog };
}

async function processDue(
  deps: InstallClaimDeps,
  options: FinishParkedEventsOptions,
): Promise<Omit<FinishParkedEventsSummary, 'backlog'>> {
  const pageSize = options.pageSize ?? 25;
  let finished = 0;
  let retried = 0;
  let dropped = 0;
  let lost = 0;
  let skipped = 0;
  for (let shard = 0; shard < deps.parked.shards; shard += 1) {
    for (;;) {
      const now = deps.now();
      if (now >= options.deadline) return { finished, retried, dropped, lost, skipped };
      const due = await deps.parked.queryDue(shard, now, pageSize);
      let taken = 0;
      for (const key of due) {
        const start = deps.now();
        if (start >= options.deadline) {
          skipped += due.length - taken;
          return { finished, retried, dropped, lost, skipped };
        }
        // Moving dueAt forward first means a crash mid-attempt only delays the claim, never loses it.
        const event = await deps.parked
          .claim(key, start + backoffDelayMs(1, deps.parking.retry, deps.random))
          .catch((error: unknown) => {
            // Taken or not, nothing was spent: the claim comes back when its due time passes.
            deps.logger.warn('parked install claim not taken', { memberId: key.memberId, error });
            return undefined;
          });
        if (event === undefined) {
          skipped += 1;
          continue;
        }
        taken += 1;
        try {
          const outcome = await finishInstallClaim(event, deps);
          if (outcome.kind === 'parked') retried += 1;
          else if (outcome.kind === 'refused') dropped += 1;
          else if (outcome.kind === 'lost') lost += 1;
          else finished += 1;
        } catch (error) {
          // Left parked: the claim's dueAt already moved to the next attempt.
          deps.logger.error('parked install claim failed', {
            memberId: event.claim.memberId,
            trigger: event.claim.trigger,
            attempts: event.attempts,
            error,
          });
          retried += 1;
        }
      }
      if (due.length < pageSize) break;
    }
  }
  return { finished, retried, dropped, lost, skipped };
}
