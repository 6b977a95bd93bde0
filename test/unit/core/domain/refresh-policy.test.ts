import { describe, expect, it } from 'vitest';
import { ConfigError } from '#shared/core/domain/errors.js';
import {
  type DecideFailureInput,
  decideFailure,
  nextRefreshAt,
  type RefreshPolicy,
} from '#shared/core/domain/refresh-policy.js';
import { DAY, HOUR, MINUTE } from '#shared/core/domain/time.js';
import { loadConfig } from '#shared/runtime/config.js';
import { refreshSettings } from '#shared/runtime/wiring.js';
import { testRefreshSettings } from '#test/helpers/builders/refresh-settings.js';

const T0 = Date.UTC(2026, 0, 1);
const policy = (mode: RefreshPolicy['mode']): RefreshPolicy => ({ ...testRefreshSettings().policy, mode });
/** A token set received at T0: access until T0+1h, refresh window until T0+30d. */
const fresh = { accessExpiresAt: T0 + HOUR, refreshExpiresAt: T0 + 30 * DAY };

describe('nextRefreshAt', () => {
  it('always_warm: renews the access token 15–20 minutes before its hour ends', () => {
    // Prepare / Act
    const earliest = nextRefreshAt(fresh, T0, policy('always_warm'), () => 0.999_999);
    const latest = nextRefreshAt(fresh, T0, policy('always_warm'), () => 0);

    // Assess
    expect(latest).toBe(T0 + HOUR - 15 * MINUTE);
    expect(earliest).toBeGreaterThanOrEqual(T0 + HOUR - 20 * MINUTE);
    expect(earliest).toBeLessThan(latest);
  });

  it('keep_alive: renews only before the refresh-token window closes (7–8 days early)', () => {
    const latest = nextRefreshAt(fresh, T0, policy('keep_alive'), () => 0);
    const earliest = nextRefreshAt(fresh, T0, policy('keep_alive'), () => 0.999_999);
    expect(latest).toBe(T0 + 23 * DAY);
    expect(earliest).toBeGreaterThan(T0 + 22 * DAY);
  });

  it('warm_while_used: warm while the last use is inside the window at the refresh instant, keep-alive otherwise', () => {
    // Prepare
    const warmAt = T0 + HOUR - 15 * MINUTE;
    const usedRecently = { ...fresh, lastUsedAt: T0 - HOUR };
    const usedUntilJustBefore = { ...fresh, lastUsedAt: warmAt - 24 * HOUR - 1 };
    const neverUsed = fresh;

    // Act
    const a = nextRefreshAt(usedRecently, T0, policy('warm_while_used'), () => 0);
    const b = nextRefreshAt(usedUntilJustBefore, T0, policy('warm_while_used'), () => 0);
    const c = nextRefreshAt(neverUsed, T0, policy('warm_while_used'), () => 0);

    // Assess
    expect(a).toBe(warmAt);
    expect(b).toBe(T0 + 23 * DAY);
    expect(c).toBe(T0 + 23 * DAY);
  });

  it('keeps the refresh-token deadline even under always_warm when it comes first', () => {
    const almostDead = { accessExpiresAt: T0 + HOUR, refreshExpiresAt: T0 + 7 * DAY + 10 * MINUTE };
    expect(nextRefreshAt(almostDead, T0, policy('always_warm'), () => 0)).toBe(T0 + 10 * MINUTE);
  });

  it('never schedules in the past: an overdue token set is due now', () => {
    const expired = { accessExpiresAt: T0 - HOUR, refreshExpiresAt: T0 + 30 * DAY };
    expect(nextRefreshAt(expired, T0, policy('always_warm'), () => 0.5)).toBe(T0);
  });

  it('spreads portals installed at the same instant over the jitter window', () => {
    let seed = 1;
    const random = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    const times = Array.from({ length: 200 }, () => nextRefreshAt(fresh, T0, policy('always_warm'), random));
    const distinctMinutes = new Set(times.map((t) => Math.floor(t / MINUTE)));
    expect(distinctMinutes.size).toBeGreaterThanOrEqual(5);
    expect(Math.min(...times)).toBeGreaterThanOrEqual(T0 + HOUR - 20 * MINUTE);
    expect(Math.max(...times)).toBeLessThanOrEqual(T0 + HOUR - 15 * MINUTE);
  });
});

describe('decideFailure (the taxonomy)', () => {
  const settings = testRefreshSettings().failures;
  const base: DecideFailureInput = {
    category: 'transient',
    status: 'active',
    consecutiveFailures: 0,
    tookOver: false,
    now: T0,
  };

  it('invalid_grant without a takeover ends the chain: reauth_required, out of the due index', () => {
    const decision = decideFailure({ ...base, category: 'invalid_grant' }, settings);
    expect(decision).toEqual({
      status: 'reauth_required',
      consecutiveFailures: 1,
      nextRefreshAt: undefined,
      verdict: 'dead',
    });
  });

  it('invalid_grant after a takeover waits a grace period longer than a lease before concluding', () => {
    const decision = decideFailure({ ...base, category: 'invalid_grant', tookOver: true }, settings);
    expect(decision.verdict).toBe('grace');
    expect(decision.status).toBe('active');
    expect(decision.nextRefreshAt).toBe(T0 + settings.takeoverGraceMs);
  });

  it('invalid_client and payment_required get their own statuses and stay due: credentials every 15 minutes, payment daily', () => {
    expect(decideFailure({ ...base, category: 'invalid_client' }, settings)).toMatchObject({
      status: 'invalid_client',
      nextRefreshAt: T0 + 15 * MINUTE,
      verdict: 'retry',
    });
    expect(decideFailure({ ...base, category: 'payment_required' }, settings)).toMatchObject({
      status: 'payment_required',
      nextRefreshAt: T0 + DAY,
      verdict: 'retry',
    });
  });

  it('invalid_client though our credentials were accepted since the previous one: the app is not installed there (uninstalled, out of the due index)', () => {
    expect(decideFailure({ ...base, category: 'invalid_client', appNotInstalled: true }, settings)).toEqual({
      status: 'uninstalled',
      consecutiveFailures: 1,
      nextRefreshAt: undefined,
      verdict: 'dead',
    });
  });

  it('PORTAL_DELETED ends the chain for good: portal_deleted, out of the due index', () => {
    expect(decideFailure({ ...base, category: 'portal_deleted' }, settings)).toEqual({
      status: 'portal_deleted',
      consecutiveFailures: 1,
      nextRefreshAt: undefined,
      verdict: 'dead',
    });
  });

  it('transient failures keep the status until the Nth in a row, then degraded; never reauth_required', () => {
    const results = [0, 1, 2, 3, 10].map((n) => decideFailure({ ...base, consecutiveFailures: n }, settings, () => 0));
    expect(results.map((r) => r.status)).toEqual(['active', 'active', 'degraded', 'degraded', 'degraded']);
    expect(results.every((r) => r.verdict === 'retry' && r.nextRefreshAt !== undefined && r.nextRefreshAt > T0)).toBe(
      true,
    );
    for (const category of [
      'transient',
      'invalid_request',
      'expired_code',
      'member_mismatch',
      'write_failed',
    ] as const) {
      expect(decideFailure({ ...base, category, consecutiveFailures: 50 }, settings).status).toBe('degraded');
    }
  });

  it('a transient failure of a payment_required token set keeps payment_required', () => {
    expect(decideFailure({ ...base, status: 'payment_required', consecutiveFailures: 5 }, settings).status).toBe(
      'payment_required',
    );
  });
});

describe('refresh settings from the environment', () => {
  it('defaults: always_warm, 15+5 min access lead, 7 days + 24 h refresh lead, degraded after 3, daily payment retry', () => {
    const settings = refreshSettings(loadConfig({}));
    expect(settings.policy).toEqual({
      mode: 'always_warm',
      accessLeadMs: 15 * MINUTE,
      accessJitterMs: 5 * MINUTE,
      refreshLeadMs: 7 * DAY,
      refreshJitterMs: DAY,
      warmWindowMs: DAY,
    });
    expect(settings.failures.degradedAfter).toBe(3);
    expect(settings.failures.paymentRetryMs).toBe(DAY);
    expect(settings.failures.takeoverGraceMs).toBeGreaterThan(settings.leaseMs + settings.writeAttempts * 1000);
  });

  it('refuses settings that would re-refresh at once or conclude while a worker may still write', () => {
    expect(() => loadConfig({ REFRESH_ACCESS_LEAD_MINUTES: '58' })).toThrow(/REFRESH_ACCESS_LEAD_MINUTES/);
    expect(() => loadConfig({ REFRESH_TOKEN_LEAD_DAYS: '30' })).toThrow(/REFRESH_TOKEN_LEAD_DAYS/);
    expect(() => loadConfig({ REFRESH_TAKEOVER_GRACE_SECONDS: '31' })).toThrow(ConfigError);
    expect(() => loadConfig({ REFRESH_SWEEP_MARGIN_SECONDS: '5' })).toThrow(/REFRESH_SWEEP_MARGIN_SECONDS/);
    expect(() => loadConfig({ REFRESH_POLICY: 'hourly' })).toThrow(/REFRESH_POLICY/);
    expect(loadConfig({ REFRESH_POLICY: 'keep_alive' }).REFRESH_POLICY).toBe('keep_alive');
  });
});
