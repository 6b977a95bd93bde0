import { describe, expect, inject, it } from 'vitest';
import { runFaultStorm } from '#bench/chaos/fault-storm.js';

describe('chaos: fault storm (emulator + DynamoDB Local)', () => {
  it('loses no chain and marks no live chain reauth_required under 5xx, timeouts, malformed answers, lost answers and failed writes', async () => {
    // Prepare: a small storm, fixed seed (`npm run chaos` runs the big one).
    const options = {
      endpoint: inject('dynamoDbEndpoint'),
      portals: 12,
      sweepers: 2,
      rounds: 24,
      settleRounds: 10,
      readsPerRound: 3,
      seed: 11,
    };

    // Act
    const report = await runFaultStorm(options);

    // Assess: nothing lost silently, no false alarm, no crash; and the storm really happened.
    expect(report.gate).toEqual({
      lostSilently: 0,
      falseReauth: 0,
      unhandledErrors: 0,
      http5xx: 0,
      writesFromRejectedInput: 0,
    });
    const injected = report.observed.injectedAtServer as Record<string, number>;
    expect(Object.values(injected).reduce((sum, n) => sum + n, 0)).toBeGreaterThan(0);
    const refreshes = report.observed.refreshOutcomes as Record<string, number>;
    expect(refreshes.ok).toBeGreaterThan(options.portals);
  }, 240_000);
});
