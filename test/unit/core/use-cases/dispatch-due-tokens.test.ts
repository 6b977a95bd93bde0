import { describe, expect, it } from 'vitest';
import { METRIC_NAMES } from '#shared/core/ports/metrics.js';
import { dispatchDueTokens } from '#shared/core/use-cases/dispatch-due-tokens.js';
import { MemoryLogger } from '#test/fakes/memory-logger.js';
import { MemoryMetrics } from '#test/fakes/memory-metrics.js';
import { MemoryRefreshQueue } from '#test/fakes/memory-refresh-queue.js';
import { MemoryTokenRepository } from '#test/fakes/memory-token-repository.js';
import { tokenSet } from '#test/helpers/builders/token-sets.js';

const NOW = Date.UTC(2026, 2, 1);

function setUp(dueTimes: readonly number[]) {
  const repository = new MemoryTokenRepository();
  dueTimes.forEach((dueAt, i) => {
    repository.put(tokenSet({ memberId: `m${i}`, userId: 1, nextRefreshAt: dueAt }));
  });
  const queue = new MemoryRefreshQueue();
  const metrics = new MemoryMetrics();
  const logger = new MemoryLogger();
  return { repository, queue, metrics, logger, deps: { repository, queue, metrics, logger, clock: () => NOW } };
}

describe('dispatchDueTokens', () => {
  it('sends every due token set to the queue, oldest first, and leaves the others', async () => {
    // Prepare
    const { queue, metrics, deps } = setUp([NOW - 5000, NOW + 60_000, NOW - 1000, NOW]);

    // Act
    const summary = await dispatchDueTokens({ maxKeys: 100 }, deps);

    // Assess
    expect(queue.sent.map((r) => [r.memberId, r.dueAt])).toEqual([
      ['m0', NOW - 5000],
      ['m2', NOW - 1000],
      ['m3', NOW],
    ]);
    expect(summary).toMatchObject({ due: 3, enqueued: 3, backlog: 0, moreDue: false, oldestOverdueMs: 5000 });
    expect(metrics.get(METRIC_NAMES.refreshesEnqueued)).toBe(3);
    expect(metrics.get(METRIC_NAMES.sweepBacklog)).toBe(0);
  });

  it('counts what the queue refused as backlog and warns: those stay due for the next run', async () => {
    // Prepare
    const { queue, metrics, logger, deps } = setUp([NOW - 3000, NOW - 2000, NOW - 1000]);
    queue.refuse = 2;

    // Act
    const summary = await dispatchDueTokens({ maxKeys: 100 }, deps);

    // Assess
    expect(summary).toMatchObject({ due: 3, enqueued: 1, backlog: 2 });
    expect(metrics.get(METRIC_NAMES.sweepBacklog)).toBe(2);
    expect(logger.lines.map((l) => [l.level, l.message])).toEqual([
      ['warn', 'dispatch left due token sets for the next run'],
    ]);
  });

  it('sends one interval of the budget, oldest first and spread over it, and carries the rest over', async () => {
    // Prepare: 10 due; 2 calls/s for the sweep over a 3-second interval allow 6
    const { queue, metrics, deps } = setUp(Array.from({ length: 10 }, (_, i) => NOW - 1000 * (10 - i)));
    const budget = { callsPerSecond: 2, onDemandShare: 0, intervalMs: 3000 };

    // Act
    const first = await dispatchDueTokens({ maxKeys: 100, budget }, deps);

    // Assess
    expect(first).toMatchObject({ due: 10, allowance: 6, enqueued: 6, backlog: 4 });
    expect(queue.sent.map((r) => r.memberId)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5']);
    expect(queue.delays).toEqual([0, 0, 1, 1, 2, 2]);
    expect(metrics.get(METRIC_NAMES.refreshAllowance)).toBe(6);
    expect(metrics.get(METRIC_NAMES.sweepBacklog)).toBe(4);
  });
});
