import { describe, expect, it } from 'vitest';
import { spreadDelaySeconds, sweepAllowance, sweepRate } from '#shared/core/domain/rate-budget.js';

const budget = { callsPerSecond: 100, onDemandShare: 0.2, intervalMs: 300_000 };

describe('rate budget', () => {
  it('leaves the on-demand share of the ceiling to waiting consumers', () => {
    expect(sweepRate(budget)).toBe(80);
    expect(sweepAllowance(budget)).toBe(24_000);
  });

  it('spreads one interval of keys evenly at the sweep rate, never past SQS’s 15 minutes', () => {
    // Act
    const delays = [0, 79, 80, 159, 160, 23_999].map((index) => spreadDelaySeconds(index, budget));

    // Assess
    expect(delays).toEqual([0, 0, 1, 1, 2, 299]);
    expect(spreadDelaySeconds(1_000_000, budget)).toBe(900);
  });

  it('always lets one key through, however small the budget', () => {
    expect(sweepAllowance({ callsPerSecond: 0.001, onDemandShare: 0.5, intervalMs: 60_000 })).toBe(1);
  });
});
