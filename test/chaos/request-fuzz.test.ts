import { describe, expect, inject, it } from 'vitest';
import { runRequestFuzz } from '#bench/chaos/request-fuzz.js';

describe('chaos: forged and fuzzed requests on every endpoint (deployed handlers over HTTP)', () => {
  it('answers every forged or malformed request without a 5xx and without changing the table', async () => {
    // Act
    const report = await runRequestFuzz({ endpoint: inject('dynamoDbEndpoint'), requests: 150, seed: 3 });

    // Assess
    expect(report.gate).toEqual({
      lostSilently: 0,
      falseReauth: 0,
      unhandledErrors: 0,
      http5xx: 0,
      writesFromRejectedInput: 0,
    });
    expect(report.observed.kinds).toBeGreaterThan(15);
    expect(report.observed.tableItems).toBeGreaterThan(3);
  }, 240_000);
});
