import { describe, expect, inject, it } from 'vitest';
import { runDynamoDbStorm } from '#bench/chaos/dynamodb-storm.js';
import type { Ledger } from '#bench/chaos/ledger.js';

describe('chaos: DynamoDB fault storm with a ledger (wire fault proxy, emulator + DynamoDB Local)', () => {
  it('accounts for every refresh token the emulator issued: stored, parked or reported lost, and never a false reauth_required', async () => {
    // Prepare: a small storm, fixed seed (`npm run chaos` runs the big one).
    const options = {
      endpoint: inject('dynamoDbEndpoint'),
      portals: 6,
      installsPerRound: 2,
      rounds: 6,
      settleRounds: 4,
      sweepers: 2,
      readsPerRound: 3,
      faultRate: 0.25,
      seed: 17,
    };

    // Act
    const report = await runDynamoDbStorm(options);

    // Assess: the ledger balances; and the storm really happened (counts, never times).
    const ledger = report.observed.ledger as Ledger;
    expect(ledger.unreportedLoss).toBe(0);
    expect(report.gate.falseReauth).toBe(0);
    expect(report.gate.unhandledErrors).toBe(0);
    expect(ledger.stored + ledger.parkedRecovery + ledger.parkedClaim + ledger.reportedLoss + ledger.closed).toBe(
      ledger.chains,
    );
    expect(report.observed.faultShare).toBeGreaterThanOrEqual(0.2);
    expect(report.observed.installs).toBe(options.rounds * options.installsPerRound);
    expect(report.observed.refreshes).toBeGreaterThan(options.portals * options.rounds);
  }, 300_000);
});
