import { describe, expect, it } from 'vitest';
import { loadConfig } from '#shared/runtime/config.js';
import { DISCARDED_METRICS } from '#shared/runtime/metrics.js';
import { wire } from '#shared/runtime/wiring.js';
import { powertoolsLogger } from '#test/helpers/builders/loggers.js';

describe('wire', () => {
  it('gives every time-based part the one clock it was given (leases, due times, OAuth states, lifecycle claims)', () => {
    // Prepare
    const clock = () => 1_800_000_000_000;

    // Act
    const wiring = wire(loadConfig({}), { clock, logger: powertoolsLogger(), metrics: DISCARDED_METRICS });

    // Assess
    expect(wiring.clock).toBe(clock);
    expect(wiring.refresh.clock).toBe(clock);
    expect(wiring.lifecycle.now).toBe(clock);
    expect(wiring.startAuthorization.now).toBe(clock);
    expect(wiring.completeAuthorization.now).toBe(clock);
  });
});
