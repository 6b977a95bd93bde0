import { afterEach, describe, expect, it } from 'vitest';
import { DAY, HOUR, MINUTE } from '#shared/core/domain/time.js';
import type { TokenKey } from '#shared/core/domain/token-set.js';
import { refreshTokenSet } from '#shared/core/use-cases/refresh-token-set.js';
import { testRefreshSettings } from '#test/helpers/builders/refresh-settings.js';
import { type RefreshHarness, startRefreshHarness } from '#test/helpers/harnesses/refresh.js';

let h: RefreshHarness;

afterEach(async () => {
  await h.stop();
});

/** Advances in steps, sweeping after each, until `untilMs` after now; checks every chain stays alive. */
async function sweepUntil(
  keys: readonly TokenKey[],
  untilMs: number,
  stepMs: number,
  each?: () => Promise<void>,
): Promise<void> {
  const end = h.emulator.clock.now() + untilMs;
  while (h.emulator.clock.now() < end) {
    h.emulator.clock.advance(stepMs);
    await each?.();
    await h.sweep();
    for (const key of keys) {
      const stored = await h.get(key);
      // The emulator expires refresh tokens 30 days after issue: a live one means the window never closed.
      expect(h.emulator.tokenState(stored.refreshToken).state).toBe('live');
      expect(stored.refreshExpiresAt).toBeGreaterThan(h.emulator.clock.now());
    }
  }
}

describe('refresh policies over weeks of emulator time', () => {
  it('keep_alive: no hourly renewals; every chain renewed before its 30-day window closes (~ every 3 weeks)', async () => {
    // Prepare
    h = await startRefreshHarness({ settings: { policy: { ...testRefreshSettings().policy, mode: 'keep_alive' } } });
    const keys = [(await h.seedPortal()).key, (await h.seedPortal()).key];

    // Act: one day in 4-hour steps (the access tokens expire unrenewed), then 70 days in 2-day steps.
    await sweepUntil(keys, DAY, 4 * HOUR);
    const afterOneDay = await Promise.all(keys.map((k) => h.get(k)));
    await sweepUntil(keys, 70 * DAY, 2 * DAY);

    // Assess
    expect(afterOneDay.every((s) => s.version === 1 && s.accessExpiresAt < h.emulator.clock.now())).toBe(true);
    for (const key of keys) {
      const renewals = h.emulator.refreshCount(key.memberId);
      // Due 22–23 days after each renewal, swept every 2 days: 3 renewals in 71 days.
      expect(renewals).toBe(3);
    }
  });

  it('warm_while_used: warm while a consumer uses the portal, keep-alive once it stops; idle portals only keep-alive', async () => {
    // Prepare: a 2-hour warm window.
    h = await startRefreshHarness({
      settings: { policy: { ...testRefreshSettings().policy, mode: 'warm_while_used', warmWindowMs: 2 * HOUR } },
    });
    const used = (await h.seedPortal()).key;
    const idle = (await h.seedPortal()).key;
    const start = h.emulator.clock.now();
    const onDemand: string[] = [];
    // A consumer reads the used portal every 5 minutes for its first 2 hours (as getAccessToken does).
    const consumer = async () => {
      if (h.emulator.clock.now() - start > 2 * HOUR) return;
      const { kind } = await refreshTokenSet(used, { reason: 'on_demand', minValidityMs: 5 * MINUTE }, h.deps);
      onDemand.push(kind);
      await h.repository.touch(used, h.emulator.clock.now(), 0);
    };

    // Act
    const accessValidWhileUsed: boolean[] = [];
    await sweepUntil([used, idle], 6 * HOUR, 5 * MINUTE, async () => {
      await consumer();
      if (h.emulator.clock.now() - start <= 2 * HOUR) {
        accessValidWhileUsed.push((await h.get(used)).accessExpiresAt > h.emulator.clock.now() + 5 * MINUTE);
      }
    });
    const usedAfter6h = await h.get(used);
    const idleAfter6h = await h.get(idle);
    const sixHours = h.emulator.clock.now();
    await sweepUntil([used, idle], 40 * DAY, 2 * DAY);

    // Assess: the first read past the install's hour pays one on-demand refresh; from then on the
    // sweep keeps the token warm until the window ends, after which the token is left to expire.
    expect(onDemand.filter((o) => o === 'refreshed')).toHaveLength(1);
    expect(accessValidWhileUsed.every(Boolean)).toBe(true);
    expect(usedAfter6h.accessExpiresAt).toBeLessThan(sixHours);
    expect(usedAfter6h.lastRefreshAt).toBeGreaterThan(start + 2 * HOUR);
    expect(idleAfter6h.version).toBe(1);
    // Then both only by keep-alive: due 22.5 days after the last renewal.
    expect(h.emulator.refreshCount(idle.memberId)).toBe(1);
    expect(h.emulator.refreshCount(used.memberId)).toBe(usedAfter6h.version - 1 + 1);
  });
});
