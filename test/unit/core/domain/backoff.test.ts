import { describe, expect, it } from 'vitest';
import { backoffDelayMs } from '#shared/core/domain/backoff.js';
import { MINUTE } from '#shared/core/domain/time.js';

describe('backoffDelayMs', () => {
  it('doubles per failure from the base, half fixed and half random by default, up to the cap', () => {
    const retry = { baseMs: MINUTE, maxMs: 30 * MINUTE };
    expect(backoffDelayMs(1, retry, () => 0)).toBe(MINUTE / 2);
    expect(backoffDelayMs(1, retry, () => 0.999_999)).toBeLessThanOrEqual(MINUTE);
    expect(backoffDelayMs(3, retry, () => 0)).toBe(2 * MINUTE);
    expect(backoffDelayMs(20, retry, () => 0.999_999)).toBeLessThanOrEqual(30 * MINUTE);
    expect(backoffDelayMs(20, retry, () => 0)).toBe(15 * MINUTE);
  });

  it('draws the factor from the spread it is given', () => {
    const step = { baseMs: 1000, maxMs: 60_000 };
    expect(backoffDelayMs(2, { ...step, spread: [0, 1] }, () => 0)).toBe(0);
    expect(backoffDelayMs(2, { ...step, spread: [0, 1] }, () => 0.5)).toBe(1000);
    expect(backoffDelayMs(2, { ...step, spread: [1, 1.2] }, () => 0)).toBe(2000);
    expect(backoffDelayMs(2, { ...step, spread: [1, 1.2] }, () => 1)).toBe(2400);
    expect(backoffDelayMs(4, { ...step, spread: [1, 1] }, () => 0.7)).toBe(8000);
  });

  it('treats attempt 0 and below as the first step, and never overflows on huge attempts', () => {
    const retry = { baseMs: 100, maxMs: 1000, spread: [1, 1] } as const;
    expect(backoffDelayMs(0, retry)).toBe(100);
    expect(backoffDelayMs(-3, retry)).toBe(100);
    expect(backoffDelayMs(10_000, retry)).toBe(1000);
  });
});
