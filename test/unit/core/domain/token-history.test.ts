import { describe, expect, it } from 'vitest';
import { HOUR, MINUTE } from '#shared/core/domain/time.js';
import {
  extendsOpenRun,
  HISTORY_LIMIT,
  type History,
  runRefreshesAfter,
  withChain,
  withFailure,
  withLiveRun,
  withRefresh,
} from '#shared/core/domain/token-history.js';

const T0 = 1_800_000_000_000;

describe('token history', () => {
  it('starts a chain with its first access token, counting the refresh that verified an install', () => {
    // Act
    const fromInstall = withChain(undefined, {
      at: T0,
      source: 'install_event',
      accessExpiresAt: T0 + HOUR,
      refreshed: true,
    });
    const fromCode = withChain([], { at: T0, source: 'oauth_code', accessExpiresAt: T0 + HOUR, refreshed: false });

    // Assess
    expect(fromInstall).toEqual([
      { kind: 'chain', at: T0, source: 'install_event' },
      { kind: 'access', from: T0, until: T0 + HOUR, refreshes: 1, lastAt: T0 },
    ]);
    expect(fromCode[1]).toEqual({ kind: 'access', from: T0, until: T0 + HOUR, refreshes: 0 });
  });

  it('merges refreshes that leave no gap into one run, and starts a new run after a gap', () => {
    // Prepare
    let history: History = withChain([], {
      at: T0,
      source: 'install_page',
      accessExpiresAt: T0 + HOUR,
      refreshed: false,
    });

    // Act
    for (let i = 1; i <= 100; i += 1) {
      const at = T0 + i * 45 * MINUTE;
      history = withRefresh(history, { at, accessExpiresAt: at + HOUR });
    }
    const afterGap = withRefresh(history, { at: T0 + 200 * HOUR, accessExpiresAt: T0 + 201 * HOUR });

    // Assess
    expect(history).toHaveLength(2);
    expect(history[1]).toEqual({
      kind: 'access',
      from: T0,
      until: T0 + 100 * 45 * MINUTE + HOUR,
      refreshes: 100,
      lastAt: T0 + 100 * 45 * MINUTE,
    });
    expect(afterGap).toHaveLength(3);
    expect(afterGap[2]).toEqual({
      kind: 'access',
      from: T0 + 200 * HOUR,
      until: T0 + 201 * HOUR,
      refreshes: 1,
      lastAt: T0 + 200 * HOUR,
    });
  });

  it('counts identical failures in a row in one entry and keeps a different one apart', () => {
    // Act
    let history = withFailure([], { at: T0, category: 'transient', code: 'http_503', status: 'active' });
    history = withFailure(history, { at: T0 + MINUTE, category: 'transient', code: 'http_503', status: 'active' });
    history = withFailure(history, {
      at: T0 + 2 * MINUTE,
      category: 'transient',
      code: 'http_503',
      status: 'degraded',
    });
    history = withFailure(history, {
      at: T0 + 3 * MINUTE,
      category: 'invalid_grant',
      code: 'invalid_grant',
      status: 'reauth_required',
    });

    // Assess
    expect(history.map((entry) => (entry.kind === 'failure' ? [entry.code, entry.status, entry.count] : []))).toEqual([
      ['http_503', 'active', 2],
      ['http_503', 'degraded', 1],
      ['invalid_grant', 'reauth_required', 1],
    ]);
    expect(history[0]).toMatchObject({ from: T0, to: T0 + MINUTE });
  });

  it(`keeps at most ${HISTORY_LIMIT} entries, dropping the oldest`, () => {
    // Prepare
    let history: History = [];

    // Act
    for (let i = 0; i < 40; i += 1) {
      const at = T0 + i * 2 * HOUR;
      history = withRefresh(history, { at, accessExpiresAt: at + HOUR });
      history = withFailure(history, {
        at: at + 90 * MINUTE,
        category: 'transient',
        code: 'timeout',
        status: 'active',
      });
    }

    // Assess
    expect(history).toHaveLength(HISTORY_LIMIT);
    expect(history.at(-1)).toMatchObject({ kind: 'failure', from: T0 + 39 * 2 * HOUR + 90 * MINUTE });
    expect(JSON.stringify(history).length).toBeLessThan(1500);
  });
});

describe('the open run kept on the token set', () => {
  it('brings the stored open run up to date with the token set, and leaves a closed history alone', () => {
    // Prepare
    const stored = withChain(undefined, {
      at: T0,
      source: 'install_event',
      accessExpiresAt: T0 + HOUR,
      refreshed: true,
    });
    const live = { runRefreshes: 4, accessExpiresAt: T0 + 4 * HOUR, lastRefreshAt: T0 + 3 * HOUR };

    // Act
    const current = withLiveRun(stored, live);
    const closed = withLiveRun(stored, { accessExpiresAt: T0 + 4 * HOUR });

    // Assess
    expect(current.at(-1)).toEqual({
      kind: 'access',
      from: T0,
      until: T0 + 4 * HOUR,
      refreshes: 4,
      lastAt: T0 + 3 * HOUR,
    });
    expect(closed).toBe(stored);
  });

  it('tells a refresh that extends the run (no entry changes shape) from one after a gap', () => {
    // Prepare
    const live = { runRefreshes: 2, accessExpiresAt: T0 + HOUR };

    // Act
    const inTime = extendsOpenRun(live, T0 + 45 * MINUTE);
    const afterGap = extendsOpenRun(live, T0 + 2 * HOUR);
    const noRun = extendsOpenRun({ accessExpiresAt: T0 + HOUR }, T0 + 45 * MINUTE);

    // Assess
    expect([inTime, afterGap, noRun]).toEqual([true, false, false]);
    expect(runRefreshesAfter(live, T0 + 45 * MINUTE)).toBe(3);
    expect(runRefreshesAfter(live, T0 + 2 * HOUR)).toBe(1);
  });

  it('gives the same timeline as the history kept whole, refresh after refresh', () => {
    // Prepare: one history kept whole, one kept as stored entries plus the open run's figures
    let whole = withChain(undefined, { at: T0, source: 'oauth_code', accessExpiresAt: T0 + HOUR, refreshed: false });
    let entries = whole;
    let live: { runRefreshes?: number; accessExpiresAt: number; lastRefreshAt?: number } = {
      runRefreshes: 0,
      accessExpiresAt: T0 + HOUR,
    };
    const times = [45, 90, 135, 300, 345].map((m) => T0 + m * MINUTE);

    // Act
    for (const at of times) {
      whole = withRefresh(whole, { at, accessExpiresAt: at + HOUR });
      if (!extendsOpenRun(live, at))
        entries = withRefresh(withLiveRun(entries, live), { at, accessExpiresAt: at + HOUR });
      live = { runRefreshes: runRefreshesAfter(live, at), accessExpiresAt: at + HOUR, lastRefreshAt: at };
    }

    // Assess
    expect(withLiveRun(entries, live)).toEqual(whole);
  });
});
