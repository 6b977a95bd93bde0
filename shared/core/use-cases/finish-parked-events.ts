import { backoffDelayMs } from '#shared/core/domain/backoff.js';
import { parkedTooOld } from '#shared/core/domain/parked-event.js';
import type { EpochMs } from '#shared/core/domain/time.js';
import { type RegisterInstallationDeps, storeVerifiedClaim, verifyClaim } from './register-installation.js';

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
  /** Refused for good or too old: removed with a warning. */
  readonly dropped: number;
  /** Taken by another worker, or left for lack of time. */
  readonly skipped: number;
  /** Claims still due when the run ended (published as `ParkedEventsBacklog`). */
  readonly backlog: number;
}

/**
 * Finishes parked install claims (scheduled): for each due claim, takes it (a conditional move of its
 * due time, so two overlapping runs never try the same claim), verifies it with the authorization
 * server, stores it, and removes it. A claim the server still cannot verify is retried with
 * exponential back-off; one it refuses, or one older than the maximum age, is dropped with a warning.
 *
 * @example
 * const summary = await finishParkedEvents(deps, { deadline: now + context.getRemainingTimeInMillis() - 5_000 });
 */
export async function finishParkedEvents(
  deps: RegisterInstallationDeps,
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
  deps: RegisterInstallationDeps,
  options: FinishParkedEventsOptions,
): Promise<Omit<FinishParkedEventsSummary, 'backlog'>> {
  const pageSize = options.pageSize ?? 25;
  let finished = 0;
  let retried = 0;
  let dropped = 0;
  let skipped = 0;
  for (let shard = 0; shard < deps.parked.shards; shard += 1) {
    for (;;) {
      const now = deps.now();
      if (now >= options.deadline) return { finished, retried, dropped, skipped };
      const due = await deps.parked.queryDue(shard, now, pageSize);
      let taken = 0;
      for (const key of due) {
        const start = deps.now();
        if (start >= options.deadline) {
          skipped += due.length - taken;
          return { finished, retried, dropped, skipped };
        }
        // Moving dueAt forward first means a crash mid-attempt only delays the claim, never loses it.
        const event = await deps.parked.claim(key, start + backoffDelayMs(1, deps.parking.retry, deps.random));
        if (event === undefined) {
          skipped += 1;
          continue;
        }
        taken += 1;
        const log = { memberId: event.claim.memberId, trigger: event.claim.trigger, attempts: event.attempts };
        if (parkedTooOld(event, start, deps.parking)) {
          await deps.parked.remove(event.claim.memberId, event.id);
          deps.logger.warn('parked install claim dropped', { ...log, reason: 'too_old', lastError: event.lastError });
          dropped += 1;
          continue;
        }
        try {
          const verification = await verifyClaim(event.claim, deps);
          if (verification.kind === 'unavailable') {
            const dueAt = deps.now() + backoffDelayMs(event.attempts, deps.parking.retry, deps.random);
            await deps.parked.reschedule(event.claim.memberId, event.id, dueAt, verification.error);
            deps.logger.info('parked install claim still unverifiable', { ...log, error: verification.error, dueAt });
            retried += 1;
            continue;
          }
          if (verification.kind === 'refused') {
            await deps.parked.remove(event.claim.memberId, event.id);
            deps.logger.warn('parked install claim dropped', {
              ...log,
              reason: verification.reason,
              error: verification.error,
            });
            dropped += 1;
            continue;
          }
          const outcome = await storeVerifiedClaim(event.claim, verification, deps);
          await deps.parked.remove(event.claim.memberId, event.id);
          deps.logger.info('parked install claim finished', { ...log, outcome: outcome.kind });
          finished += 1;
        } catch (error) {
          // Left parked: the claim's dueAt already moved to the next attempt.
          deps.logger.error('parked install claim failed', { ...log, error });
          retried += 1;
        }
      }
      if (due.length < pageSize) break;
    }
  }
  return { finished, retried, dropped, skipped };
}
