import { performance } from 'node:perf_hooks';
import { METRIC_NAMES } from '#shared/core/ports/metrics.js';
import type { TokenRepository } from '#shared/core/ports/token-repository.js';
import { readDue } from './read-due.js';
import { refreshDueToken } from './refresh-due-token.js';
import type { RefreshDeps, RefreshRepository } from './refresh-token-set.js';

export interface SweepDeps extends RefreshDeps {
  readonly repository: RefreshRepository & Pick<TokenRepository, 'queryDue' | 'dueShards'>;
}

export interface SweepOptions {
  /**
   * Time left for starting refreshes, in real milliseconds (in Lambda: the invocation's remaining time
   * minus a margin longer than one refresh). No refresh starts once it is ≤ 0.
   */
  readonly remainingMs: () => number;
  /** Token sets refreshed at the same time. */
  readonly concurrency: number;
  /** Most due token sets read in one run (split evenly over the shards). */
  readonly maxKeys: number;
}

/** What one sweep did. Every due token set lands in exactly one of the counters or in `backlog`. */
export interface SweepSummary {
  /** Due token sets found (dueAt ≤ now). */
  readonly due: number;
  /** Refreshed by this sweep (including parked pairs applied). */
  readonly refreshed: number;
  readonly failed: { readonly total: number; readonly byCategory: Readonly<Record<string, number>> };
  /** Nothing to do any more: refreshed by somebody else meanwhile, no longer refreshable, or gone. */
  readonly skipped: number;
  /** Another worker held the lease. */
  readonly leaseHeld: number;
  /** Due but not attempted: the time budget ran out. They stay due for the next run. */
  readonly backlog: number;
  /** More due token sets exist than `maxKeys` allowed reading. */
  readonly moreDue: boolean;
  /** How long the oldest due token set had been due when the sweep started (0 when none). */
  readonly oldestOverdueMs: number;
  readonly durationMs: number;
}

/**
 * The sweep in one process (`npm run ops -- sweep`; deployed, the dispatcher and the refresh workers
 * do the same in two halves): reads every shard of the due index (Query, never Scan) up to `now`,
 * oldest first, and sends each token set through the refresh path (`refreshDueToken`) with bounded
 * concurrency while time is left. Each token set is isolated: one failure never stops the others. Publishes metrics (due,
 * backlog, oldest overdue, lease held, duration; the refresh path counts refreshes and failures by
 * category) and logs the summary.
 *
 * @example
 * const summary = await sweepDueTokens({ remainingMs: () => context.getRemainingTimeInMillis() - 15_000,
 *   concurrency: 8, maxKeys: 5000 }, deps);
 */
export async function sweepDueTokens(options: SweepOptions, deps: SweepDeps): Promise<SweepSummary> {
  const started = performance.now();
  const now = deps.clock();
  const { keys, moreDue } = await readDue(deps.repository, now, options.maxKeys);

  let refreshed = 0;
  let skipped = 0;
  let leaseHeld = 0;
  let attempted = 0;
  const byCategory: Record<string, number> = {};
  const fail = (category: string) => {
    byCategory[category] = (byCategory[category] ?? 0) + 1;
  };

  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      if (next >= keys.length || options.remainingMs() <= 0) return;
      const due = keys[next];
      next += 1;
      if (due === undefined) return;
      attempted += 1;
      const outcome = await refreshDueToken({ memberId: due.memberId, userId: due.userId }, deps);
      if (outcome.kind === 'refreshed') refreshed += 1;
      else if (outcome.kind === 'skipped') skipped += 1;
      else if (outcome.kind === 'lease_held') leaseHeld += 1;
      // A crash is counted and logged there, and the sweep goes on; the next run finds it still due.
      else fail(outcome.category);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, keys.length)) }, worker));

  const failedTotal = Object.values(byCategory).reduce((sum, n) => sum + n, 0);
  const oldest = keys[0];
  const summary: SweepSummary = {
    due: keys.length,
    refreshed,
    failed: { total: failedTotal, byCategory },
    skipped,
    leaseHeld,
    backlog: keys.length - attempted,
    moreDue,
    oldestOverdueMs: oldest === undefined ? 0 : Math.max(0, now - oldest.dueAt),
    durationMs: Math.round(performance.now() - started),
  };
  deps.metrics.count(METRIC_NAMES.sweepDue, summary.due);
  deps.metrics.count(METRIC_NAMES.sweepBacklog, summary.backlog);
  deps.metrics.count(METRIC_NAMES.sweepLeaseHeld, summary.leaseHeld);
  deps.metrics.milliseconds(METRIC_NAMES.sweepOldestOverdue, summary.oldestOverdueMs);
  deps.metrics.milliseconds(METRIC_NAMES.sweepDuration, summary.durationMs);
  if (summary.backlog > 0 || moreDue) deps.logger.warn('sweep left due token sets for the next run', { ...summary });
  else deps.logger.info('sweep finished', { ...summary });
  return summary;
}
