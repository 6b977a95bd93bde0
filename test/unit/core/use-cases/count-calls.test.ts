import { describe, expect, it } from 'vitest';
import { METRIC_NAMES } from '#shared/core/ports/metrics.js';
import type { BitrixOAuthClient } from '#shared/core/ports/oauth-client.js';
import { countCalls } from '#shared/core/use-cases/count-calls.js';
import { MemoryMetrics } from '#test/fakes/memory-metrics.js';

describe('countCalls', () => {
  it('counts every refresh call by kind, answered or not', async () => {
    // Prepare
    const metrics = new MemoryMetrics();
    let calls = 0;
    const inner: BitrixOAuthClient = {
      exchangeCode: async () => {
        throw new Error('not used');
      },
      refresh: async () => {
        calls += 1;
        throw new Error('unreachable');
      },
    };
    const counted = countCalls(inner, metrics, 'on_demand');

    // Act
    const outcomes = await Promise.allSettled([
      counted.refresh({ refreshToken: 'r', serverEndpoint: 'https://oauth.bitrix.info/rest/' }),
      counted.refresh({ refreshToken: 'r', serverEndpoint: 'https://oauth.bitrix.info/rest/' }),
    ]);

    // Assess
    expect(calls).toBe(2);
    expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
    expect(metrics.get(`${METRIC_NAMES.authServerCalls}{kind=on_demand}`)).toBe(2);
  });
});
