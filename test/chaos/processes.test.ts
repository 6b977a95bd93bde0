import { describe, expect, inject, it } from 'vitest';
import { runProcessChaos } from '#bench/chaos/process-chaos.js';

describe('chaos: sweep processes (real child processes, emulator + DynamoDB Local)', () => {
  it('refreshes each due token set once per round when processes sweep the same portals at once', async () => {
    // Act
    const report = await runProcessChaos({
      endpoint: inject('dynamoDbEndpoint'),
      portals: 8,
      processes: 2,
      rounds: 3,
      kill: false,
      settleRounds: 0,
      tokenLatencyMs: 30,
      seed: 5,
    });

    // Assess
    expect(report.gate).toEqual({
      lostSilently: 0,
      falseReauth: 0,
      unhandledErrors: 0,
      http5xx: 0,
      writesFromRejectedInput: 0,
    });
    expect(report.observed.duplicateRefreshes).toBe(0);
    const chains = report.observed.chains as { healthy: number };
    expect(chains.healthy).toBe(8);
  }, 240_000);

  it('never loses a chain silently when a sweep process is SIGKILLed in the middle of its refreshes', async () => {
    // Act
    const report = await runProcessChaos({
      endpoint: inject('dynamoDbEndpoint'),
      portals: 8,
      processes: 2,
      rounds: 5,
      kill: true,
      settleRounds: 3,
      tokenLatencyMs: 40,
      seed: 9,
    });

    // Assess: every chain is alive or reported dead with its reason; processes really died.
    expect(report.gate).toEqual({
      lostSilently: 0,
      falseReauth: 0,
      unhandledErrors: 0,
      http5xx: 0,
      writesFromRejectedInput: 0,
    });
    expect(report.observed.kills).toBeGreaterThan(0);
    const chains = report.observed.chains as {
      chains: number;
      healthy: number;
      interruptedSurfaced: number;
      otherSurfaced: number;
    };
    expect(chains.healthy + chains.interruptedSurfaced).toBe(chains.chains);
    // Deaths in the middle of a refresh really cost chains (the kill points are the processes' own).
    expect(chains.interruptedSurfaced).toBeGreaterThan(0);
  }, 240_000);
});
