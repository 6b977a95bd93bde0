import { performance } from 'node:perf_hooks';
import { type RateBudget, spreadDelaySeconds, sweepAllowance } from '#shared/core/domain/rate-budget.js';
import type { EpochMs } from '#shared/core/domain/time.js';
import type { Logger } from '#shared/core/ports/logger.js';
import { METRIC_NAMES, type MetricsRecorder } from '#shared/core/ports/metrics.js';
import type { RefreshQueue } from '#shared/core/ports/refresh-queue.js';
import type { TokenRepository } from '#shared/core/ports/token-repository.js';
import { readDue } from './read-due.js';

export interface DispatchDeps {
  readonly repository: Pick<TokenRepository, 'queryDue' | 'dueShards'>;
  readonly queue: RefreshQueue;
  readonly metrics: MetricsRecorder;
  readonly logger: Logger;
  readonly clock: () => EpochMs;
}

export interface DispatchOptions {
  /** Most due token sets read in one run (split evenly over the shards). */
  readonly maxKeys: number;
  /**
   * The app's budget of authorization-server calls: at most one interval's worth at the sweep's rate is
   * sent, spread over the interval; the rest stays due. @default - no ceiling, nothing delayed
   */
  readonly budget?: RateBudget;
}

/** What one dispatch did. */
export interface DispatchSummary {
  /** Due token sets found (dueAt ≤ now), at most `maxKeys`. */
  readonly due: number;
  /** Accepted by the queue. */
  readonly enqueued: number;
  /** Most keys the rate budget let this run send (`due` when there is no budget). */
  readonly allowance: number;
  /** Due but not sent (over the budget, or refused by the queue): still due, the next run's first. */
  readonly backlog: number;
  /** More due token sets exist than `maxKeys` allowed reading (they wait for the next run). */
  readonly moreDue: boolean;
  /** How long the oldest due token set had been due when the run started (0 when none). */
  readonly oldestOverdueMs: number;
  readonly durationMs: number;
}

/**
 * The scheduled half of the sweep: reads every shard of the due index (one Query per shard and page,
 * never a Scan) up to now, oldest first, and hands the keys to the refresh queue, as many as the rate
 * budget allows per interval, spread over it (`rate-budget.ts`); the refresh workers
 * (`refreshDueToken` behind an event source mapping) spend the tokens. Nothing is written to the table:
 * a key stays due until a worker's refresh moves its due time, so a lost message only delays a refresh
 * to the next run, and a second message for the same key finds it no longer due or its lease held.
 *
 * @example
 * const summary = await dispatchDueTokens({ maxKeys: 5000 }, { repository, queue, metrics, logger, clock });
 */
export async function dispatchDueTokens(options: DispatchOptions, deps: DispatchDeps): Promise<DispatchSummary> {
  const started = performance.now();
  const now = deps.clock();
  const { keys, moreDue } = await readDue(deps.repository, now, options.maxKeys);
  const { budget } = options;
  const allowance = budget === undefined ? keys.length : Math.min(keys.length, sweepAllowance(budget));
  // Oldest first: a backlog is carried over in due order, never sent at once.
  const { sent } = await deps.queue.enqueue(
    keys.slice(0, allowance).map(({ memberId, userId, dueAt }, index) => ({
      request: { memberId, userId, dueAt },
      delaySeconds: budget === undefined ? 0 : spreadDelaySeconds(index, budget),
    })),
  );
  const oldest = keys[0];
  const summary: DispatchSummary = {
    due: keys.length,
    enqueued: sent,
    allowance,
    backlog: keys.length - sent,
    moreDue,
    oldestOverdueMs: oldest === undefined ? 0 : Math.max(0, now - oldest.dueAt),
    durationMs: Math.round(performance.now() - started),
  };
  deps.metrics.count(METRIC_NAMES.sweepDue, summary.due);
  deps.metrics.count(METRIC_NAMES.refreshesEnqueued, summary.enqueued);
  deps.metrics.count(METRIC_NAMES.refreshAllowance, summary.allowance);
  // At least one more is waiting when a shard held more than its share.
  deps.metrics.count(METRIC_NAMES.sweepBacklog, summary.backlog + (moreDue ? 1 : 0));
  deps.metrics.milliseconds(METRIC_NAMES.sweepOldestOverdue, summary.oldestOverdueMs);
  deps.metrics.milliseconds(METRIC_NAMES.sweepDuration, summary.durationMs);
  if (summary.backlog > 0 || moreDue) deps.logger.warn('dispatch left due token sets for the next run', { ...summary });
  else deps.logger.info('dispatch finished', { ...summary });
  return summary;
}
