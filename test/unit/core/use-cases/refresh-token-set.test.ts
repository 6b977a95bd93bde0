import { beforeEach, describe, expect, it } from 'vitest';
import { LeaseHeldError, TokenRefreshError, TokenUnavailableError } from '#shared/core/domain/errors.js';
import { HOUR, MINUTE } from '#shared/core/domain/time.js';
import { withChain } from '#shared/core/domain/token-history.js';
import type { TokenSet } from '#shared/core/domain/token-set.js';
import { SILENT_LOGGER } from '#shared/core/ports/logger.js';
import { refreshDueToken } from '#shared/core/use-cases/refresh-due-token.js';
import { type RefreshDeps, type RefreshRepository, refreshTokenSet } from '#shared/core/use-cases/refresh-token-set.js';
import { sweepDueTokens } from '#shared/core/use-cases/sweep-due-tokens.js';
import { MemoryAuthServer } from '#test/fakes/memory-auth-server.js';
import { MemoryMetrics } from '#test/fakes/memory-metrics.js';
import { MemoryNotifications } from '#test/fakes/memory-notifications.js';
import { MemoryRecoveryStore } from '#test/fakes/memory-recovery-store.js';
import { MemoryTokenRepository } from '#test/fakes/memory-token-repository.js';
import { memberId, oauthError } from '#test/helpers/builders/fixtures.js';
import { testRefreshSettings } from '#test/helpers/builders/refresh-settings.js';
import { tokenSet } from '#test/helpers/builders/token-sets.js';

const T0 = Date.UTC(2026, 0, 1);

let now: number;
let repository: MemoryTokenRepository;
let server: MemoryAuthServer;
let recovery: MemoryRecoveryStore;
let notifications: MemoryNotifications;
let metrics: MemoryMetrics;
let deps: RefreshDeps;

beforeEach(() => {
  now = T0;
  repository = new MemoryTokenRepository();
  server = new MemoryAuthServer(() => now);
  recovery = new MemoryRecoveryStore(repository);
  notifications = new MemoryNotifications();
  metrics = new MemoryMetrics();
  deps = {
    repository,
    oauth: server,
    recovery,
    notifications,
    metrics,
    logger: SILENT_LOGGER,
    settings: testRefreshSettings(),
    clock: () => now,
    random: () => 0,
    sleep: async (ms) => {
      now += ms;
    },
  };
});

/** A stored, live token set due at `dueAt` (its access token expiring an hour after T0). */
function seed(overrides: Partial<TokenSet> = {}): TokenSet {
  const set = tokenSet({
    memberId: memberId(),
    userId: 1,
    updatedAt: T0,
    nextRefreshAt: T0 + 45 * MINUTE,
    scope: 'crm',
    ...overrides,
  });
  repository.put(set);
  server.register(set);
  return set;
}

const sweep = (set: TokenSet) => refreshTokenSet(set, { reason: 'sweep' }, deps);

describe('refreshTokenSet', () => {
  it('refreshes a due token set, fences on the spent token, and schedules the next one by the policy', async () => {
    // Prepare
    const set = seed();
    now = T0 + 45 * MINUTE;

    // Act
    const result = await sweep(set);

    // Assess
    expect(result.kind).toBe('refreshed');
    expect(result.tokenSet.refreshToken).not.toBe(set.refreshToken);
    expect(result.tokenSet.version).toBe(set.version + 1);
    expect(result.tokenSet.nextRefreshAt).toBe(now + HOUR - 15 * MINUTE);
    expect(result.tokenSet.leaseOwner).toBeUndefined();
    expect(result.tokenSet.scope).toBe('crm');
    expect(server.successes).toBe(1);
    expect(notifications.published).toEqual([]);
  });

  it('does not call the server for a token set that is not due, nor for a stale report of an older version', async () => {
    // Prepare
    const set = seed({ version: 5 });

    // Act
    const notDue = await sweep(set);
    const stale = await refreshTokenSet(set, { reason: 'stale_report', seenVersion: 4 }, deps);
    const fresh = await refreshTokenSet(set, { reason: 'on_demand', seenVersion: 5 }, deps);

    // Assess
    expect(notDue.kind).toBe('current');
    expect(stale).toEqual({ kind: 'current', tokenSet: set });
    expect(fresh.kind).toBe('current');
    expect(server.calls).toBe(0);
  });

  it('refreshes on a stale report of the stored version, and on demand when the token is about to expire', async () => {
    // Prepare
    const set = seed();

    // Act
    const reported = await refreshTokenSet(set, { reason: 'stale_report', seenVersion: set.version }, deps);
    now = reported.tokenSet.accessExpiresAt - 4 * MINUTE;
    const onDemand = await refreshTokenSet(set, { reason: 'on_demand', seenVersion: reported.tokenSet.version }, deps);

    // Assess
    expect(reported.kind).toBe('refreshed');
    expect(onDemand.kind).toBe('refreshed');
    expect(server.successes).toBe(2);
  });

  it('does not refresh again when another worker refreshed between our read and our lease', async () => {
    // Prepare
    const set = seed();
    now = T0 + 45 * MINUTE;
    repository.beforeLease = async () => {
      await sweep(set);
    };

    // Act
    const result = await sweep(set);

    // Assess
    expect(result.kind).toBe('superseded');
    expect(result.tokenSet.version).toBe(set.version + 1);
    expect(server.successes).toBe(1);
  });

  it('after invalid_grant caused by a race, returns the winner’s tokens and records nothing', async () => {
    // Prepare: the server sees another worker's refresh (and its write) land just before ours.
    const set = seed();
    now = T0 + 50 * MINUTE;
    server.onCall = async (refreshToken) => {
      server.onCall = undefined;
      const issued = server.rotate(refreshToken);
      repository.put({
        ...repository.get(set),
        refreshToken: issued.refreshToken,
        accessToken: issued.accessToken,
        version: 9,
        nextRefreshAt: now + HOUR,
      });
    };

    // Act
    const result = await sweep(set);

    // Assess
    expect(result.kind).toBe('superseded');
    expect(result.tokenSet.version).toBe(9);
    expect(repository.get(set).status).toBe('active');
    expect(repository.get(set).lastFailure).toBeUndefined();
    expect(notifications.published).toEqual([]);
  });

  it('ends a chain whose own refresh token is refused (no takeover): reauth_required, notified once, out of the index', async () => {
    // Prepare
    const set = seed();
    now = T0 + 50 * MINUTE;
    server.failures.push(oauthError('invalid_grant', 400));

    // Act
    const error = await sweep(set).catch((e: unknown) => e);
    const again = await refreshTokenSet(set, { reason: 'on_demand' }, deps).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(TokenRefreshError);
    expect((error as TokenRefreshError).reason).toBe('reauth_required');
    expect(repository.get(set)).toMatchObject({
      status: 'reauth_required',
      nextRefreshAt: undefined,
      refreshToken: set.refreshToken,
    });
    expect(again).toBeInstanceOf(TokenUnavailableError);
    expect(notifications.published).toMatchObject([
      { event: 'reauth_required', from: 'active', to: 'reauth_required', reason: 'invalid_grant' },
    ]);
  });

  it('after taking over a crashed refresh that spent the token, waits the grace period, then concludes reauth_required', async () => {
    // Prepare: a worker took the lease, spent the token at the server, and died.
    const set = seed();
    now = T0 + 50 * MINUTE;
    await repository.acquireLease(set, { owner: 'crashed', now, leaseMs: 30_000 });
    server.rotate(set.refreshToken);
    now += 31_000;

    // Act
    const first = await sweep(set).catch((e: unknown) => e);
    const duringGrace = await sweep(set);
    now = repository.get(set).nextRefreshAt ?? 0;
    const second = await sweep(set).catch((e: unknown) => e);

    // Assess
    expect((first as TokenRefreshError).category).toBe('invalid_grant');
    expect((first as TokenRefreshError).status).toBe('active');
    expect(duringGrace.kind).toBe('current');
    expect((second as TokenRefreshError).status).toBe('reauth_required');
    expect(notifications.published.map((n) => [n.event, n.reason])).toEqual([
      ['refresh_interrupted', 'lease_expired_unreleased'],
      ['reauth_required', 'invalid_grant_after_interrupted_refresh'],
    ]);
    expect(metrics.get('RefreshInterrupted')).toBe(1);
  });

  it('after taking over a crashed refresh that never reached the server, refreshes and reports the interruption', async () => {
    // Prepare
    const set = seed();
    now = T0 + 50 * MINUTE;
    await repository.acquireLease(set, { owner: 'crashed', now, leaseMs: 30_000 });

    // Act
    const held = await sweep(set).catch((e: unknown) => e);
    now += 31_000;
    const taken = await sweep(set);

    // Assess
    expect(held).toBeInstanceOf(LeaseHeldError);
    expect(taken.kind).toBe('refreshed');
    expect(notifications.events()).toEqual(['refresh_interrupted']);
  });

  it('keeps the tokens through transient failures, turns degraded on the 3rd, heals to active; one notification each', async () => {
    // Prepare
    const set = seed();
    now = T0 + 45 * MINUTE;
    server.failures.push(oauthError('http_503', 503), oauthError('timeout', 0), oauthError('malformed_response', 200));

    // Act
    const statuses: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      await sweep(set).catch(() => undefined);
      const stored = repository.get(set);
      statuses.push(stored.status);
      now = stored.nextRefreshAt ?? now;
    }

    // Assess
    expect(statuses).toEqual(['active', 'active', 'degraded', 'active']);
    expect(repository.get(set).consecutiveFailures).toBe(0);
    expect(notifications.published.map((n) => `${n.event}:${n.from}->${n.to}`)).toEqual([
      'degraded:active->degraded',
      'recovered:degraded->active',
    ]);
    expect(metrics.get('RefreshFailed{category=transient}')).toBe(3);
  });

  it('holds a consumer back during a back-off instead of calling the server per read', async () => {
    // Prepare
    const set = seed({ accessExpiresAt: T0 + 2 * MINUTE });
    server.failures.push(oauthError('http_502', 502));
    await refreshTokenSet(set, { reason: 'on_demand' }, deps).catch(() => undefined);

    // Act
    const error = await refreshTokenSet(set, { reason: 'on_demand' }, deps).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(TokenRefreshError);
    expect((error as TokenRefreshError).category).toBe('backoff');
    expect((error as TokenRefreshError).reason).toBe('refresh_failed');
    expect(server.calls).toBe(1);
  });

  it('asks the server to prove an uninstall even during a back-off: the answer is the proof', async () => {
    // Prepare
    const set = seed({ accessExpiresAt: T0 + 2 * MINUTE });
    server.failures.push(oauthError('http_502', 502));
    await refreshTokenSet(set, { reason: 'on_demand' }, deps).catch(() => undefined);

    // Act
    const outcome = await refreshTokenSet(set, { reason: 'uninstall_proof' }, deps);

    // Assess
    expect(outcome.kind).toBe('refreshed');
    expect(server.calls).toBe(2);
  });

  it('payment_required: own status, stays due with a daily retry, and recovers once paid', async () => {
    // Prepare
    const set = seed();
    now = T0 + 45 * MINUTE;
    server.failures.push(oauthError('PAYMENT_REQUIRED', 402));

    // Act
    const error = await sweep(set).catch((e: unknown) => e);
    const stored = repository.get(set);
    const consumer = await refreshTokenSet(set, { reason: 'on_demand' }, deps).catch((e: unknown) => e);
    now = stored.nextRefreshAt ?? 0;
    const paid = await sweep(set);

    // Assess
    expect((error as TokenRefreshError).reason).toBe('payment_required');
    expect(stored.status).toBe('payment_required');
    expect(stored.nextRefreshAt).toBe(T0 + 45 * MINUTE + 24 * HOUR);
    expect((consumer as TokenUnavailableError).reason).toBe('payment_required');
    expect(paid.tokenSet.status).toBe('active');
    expect(notifications.events()).toEqual(['payment_required', 'recovered']);
  });

  it('invalid_client: own status, the unspent token kept and tried again in 15 minutes, notified', async () => {
    const set = seed();
    now = T0 + 45 * MINUTE;
    server.failures.push(oauthError('invalid_client', 401));
    await sweep(set).catch(() => undefined);
    expect(repository.get(set)).toMatchObject({
      status: 'invalid_client',
      refreshToken: set.refreshToken,
      nextRefreshAt: now + 15 * MINUTE,
    });
    expect(notifications.events()).toEqual(['invalid_client']);
  });

  it('never stores an answer for another portal', async () => {
    const set = seed();
    now = T0 + 45 * MINUTE;
    server.answerMemberId = memberId();
    const error = await sweep(set).catch((e: unknown) => e);
    expect((error as TokenRefreshError).category).toBe('member_mismatch');
    expect(repository.get(set).refreshToken).toBe(set.refreshToken);
    expect(repository.get(set).lastFailure?.category).toBe('member_mismatch');
  });

  it('parks a pair whose write keeps failing, surfaces it, and applies it on the next attempt', async () => {
    // Prepare
    const set = seed();
    now = T0 + 45 * MINUTE;
    repository.failWrites = 4;

    // Act
    const lost = await sweep(set).catch((e: unknown) => e);
    const parked = await recovery.get(set, set.refreshToken);
    const next = await sweep(set);
    now = (next.tokenSet.nextRefreshAt ?? 0) + 1;
    const after = await sweep(set);

    // Assess
    expect((lost as TokenRefreshError).category).toBe('write_failed');
    expect(parked?.usedRefreshToken).toBe(set.refreshToken);
    expect(next.kind).toBe('recovered');
    expect(next.tokenSet.refreshToken).toBe(parked?.issued.refreshToken);
    expect(after.kind).toBe('refreshed');
    expect(recovery.records.size).toBe(0);
    expect(notifications.published.map((n) => [n.event, n.reason])).toEqual([
      ['lost_write', 'parked_for_recovery'],
      ['recovered', 'parked_pair_applied'],
    ]);
    expect(metrics.get('LostWrite{parked=true}')).toBe(1);
  });

  it('retries a failed write on its own budget without a new server call', async () => {
    const set = seed();
    now = T0 + 45 * MINUTE;
    repository.failWrites = 3;
    const result = await sweep(set);
    expect(result.kind).toBe('refreshed');
    expect(server.calls).toBe(1);
  });

  it('when neither the write nor the parking works, says the chain is lost', async () => {
    const set = seed();
    now = T0 + 45 * MINUTE;
    repository.failWrites = 4;
    recovery.failSaves = 4;
    await sweep(set).catch(() => undefined);
    const next = await sweep(set).catch((e: unknown) => e);
    expect(notifications.published.map((n) => [n.event, n.reason])).toEqual([
      ['lost_write', 'pair_lost'],
      ['reauth_required', 'invalid_grant'],
    ]);
    expect((next as TokenRefreshError).reason).toBe('reauth_required');
  });

  it('lets a consumer wait for another worker’s refresh and hands out the winner’s tokens', async () => {
    // Prepare: another worker holds the lease and finishes while we poll.
    const set = seed({ accessExpiresAt: T0 + MINUTE });
    await repository.acquireLease(set, { owner: 'other', now, leaseMs: 30_000 });
    let polls = 0;
    deps = {
      ...deps,
      sleep: async () => {
        polls += 1;
        if (polls === 3) {
          const issued = server.rotate(set.refreshToken);
          await repository.completeRefresh(set, {
            owner: 'other',
            usedRefreshToken: set.refreshToken,
            issued,
            refreshExpiresAt: now + 30 * 24 * HOUR,
            runRefreshes: 1,
            now,
          });
        }
      },
    };

    // Act
    const result = await refreshTokenSet(set, { reason: 'on_demand', seenVersion: set.version }, deps);

    // Assess
    expect(result.kind).toBe('superseded');
    expect(result.tokenSet.version).toBe(set.version + 1);
    expect(server.calls).toBe(0);
  });

  it('does not let a failing notification channel fail the refresh', async () => {
    const set = seed();
    now = T0 + 45 * MINUTE;
    notifications.failWith = new Error('bus down');
    server.failures.push(oauthError('invalid_client', 401));
    const error = await sweep(set).catch((e: unknown) => e);
    expect((error as TokenRefreshError).category).toBe('invalid_client');
    expect(metrics.get('NotificationFailed')).toBe(1);
  });
});

describe('sweepDueTokens', () => {
  it('refreshes every due token set once, isolates failures, and counts them by category', async () => {
    // Prepare
    const sets = Array.from({ length: 6 }, () => seed());
    const notDue = seed({ nextRefreshAt: T0 + 10 * HOUR });
    now = T0 + 46 * MINUTE;
    server.failures.push(oauthError('http_500', 500), oauthError('invalid_client', 401));

    // Act
    const summary = await sweepDueTokens(
      { remainingMs: () => 60_000, concurrency: 1, maxKeys: 100 },
      { ...deps, repository },
    );

    // Assess
    expect(summary).toMatchObject({
      due: 6,
      refreshed: 4,
      failed: { total: 2, byCategory: { transient: 1, invalid_client: 1 } },
      skipped: 0,
      leaseHeld: 0,
      backlog: 0,
      moreDue: false,
      oldestOverdueMs: MINUTE,
    });
    expect(repository.get(notDue).version).toBe(notDue.version);
    expect(sets.filter((s) => repository.get(s).status === 'active')).toHaveLength(5);
  });

  it('stops starting refreshes when the time budget is spent and reports the rest as backlog', async () => {
    for (let i = 0; i < 5; i += 1) seed();
    now = T0 + 46 * MINUTE;
    let budget = 2;
    const summary = await sweepDueTokens(
      { remainingMs: () => budget--, concurrency: 1, maxKeys: 100 },
      { ...deps, repository },
    );
    expect(summary.refreshed).toBe(2);
    expect(summary.backlog).toBe(3);
    expect(metrics.durations.get('SweepOldestOverdue')).toEqual([MINUTE]);
  });
});

describe('the history kept by the refresh path', () => {
  it('writes it only when the timeline changes shape: not for a refresh in time, for one after a gap and for a failure', async () => {
    // Prepare: a chain whose history item holds its start and its open run
    const set = seed({ runRefreshes: 1, lastRefreshAt: T0 });
    const entries = withChain(undefined, {
      at: T0,
      source: 'install_event',
      accessExpiresAt: T0 + HOUR,
      refreshed: true,
    });
    await repository.writeHistory(set, entries, null);
    const versions = () => repository.histories.get(`${set.memberId}#1`)?.version;

    // Act: a refresh in time
    now = T0 + 45 * MINUTE;
    const inTime = await sweep(set);
    const afterInTime = versions();
    // Act: an on-demand refresh long after the access token expired
    now = T0 + 5 * HOUR;
    const afterGap = await refreshTokenSet(set, { reason: 'on_demand' }, deps);
    const afterGapVersion = versions();
    // Act: a failure
    now = afterGap.tokenSet.nextRefreshAt ?? now;
    server.failures.push(oauthError('http_503', 503));
    await sweep(set).catch(() => undefined);

    // Assess
    expect(inTime.tokenSet.runRefreshes).toBe(2);
    expect(afterInTime).toBe(1);
    expect(afterGap.tokenSet.runRefreshes).toBe(1);
    expect(afterGapVersion).toBe(2);
    const stored = repository.histories.get(`${set.memberId}#1`);
    expect(stored?.version).toBe(3);
    expect(stored?.entries.map((e) => [e.kind, e.kind === 'access' ? e.refreshes : 0])).toEqual([
      ['chain', 0],
      ['access', 2],
      ['access', 1],
      ['failure', 0],
    ]);
    expect(stored?.entries[1]).toMatchObject({
      from: T0,
      until: inTime.tokenSet.accessExpiresAt,
      lastAt: T0 + 45 * MINUTE,
    });
    expect(repository.get(set).runRefreshes).toBeUndefined();
  });

  it('moves a history an older item kept on the token set to its own item at the next refresh', async () => {
    // Prepare
    const legacy = withChain(undefined, { at: T0, source: 'oauth_code', accessExpiresAt: T0 + HOUR, refreshed: false });
    const set = seed({ history: legacy });

    // Act
    now = T0 + 45 * MINUTE;
    const result = await sweep(set);

    // Assess
    expect(result.tokenSet.history).toBeUndefined();
    expect(result.tokenSet.runRefreshes).toBe(1);
    expect(repository.histories.get(`${set.memberId}#1`)?.entries).toEqual([
      legacy[0],
      { kind: 'access', from: T0, until: result.tokenSet.accessExpiresAt, refreshes: 1, lastAt: now },
    ]);
  });

  it('never fails a refresh because its history could not be written', async () => {
    // Prepare
    const set = seed();
    repository.writeHistory = async () => {
      throw new Error('ServiceUnavailable');
    };

    // Act
    now = T0 + 45 * MINUTE;
    const result = await sweep(set);

    // Assess
    expect(result.kind).toBe('refreshed');
  });
});

describe('refreshDueToken (a due token set handed to a worker)', () => {
  it('asks for a retry only where nothing moved the due time: a parked pair, a crash', async () => {
    // Prepare: one parked (its writes fail), one failing at the server (recorded), one that crashes
    const parkedSet = seed();
    const downSet = seed();
    const crashing = seed();
    now = T0 + 45 * MINUTE;

    // Act
    repository.failWrites = 4;
    const parked = await refreshDueToken(parkedSet, deps);
    repository.failWrites = 0;
    server.down = true;
    const down = await refreshDueToken(downSet, deps);
    server.down = false;
    // The store cannot be read: no refresh outcome at all
    const unreadable: RefreshRepository = {
      getTokenSet: async () => {
        throw new Error('ServiceUnavailable');
      },
      acquireLease: (k, i) => repository.acquireLease(k, i),
      completeRefresh: (k, i) => repository.completeRefresh(k, i),
      recordFailure: (k, i) => repository.recordFailure(k, i),
      releaseLease: (k, o) => repository.releaseLease(k, o),
      readHistory: (k) => repository.readHistory(k),
      writeHistory: (k, e, v) => repository.writeHistory(k, e, v),
    };
    const crashed = await refreshDueToken(crashing, { ...deps, repository: unreadable });
    const refreshed = await refreshDueToken(parkedSet, deps);
    const notDue = await refreshDueToken(parkedSet, deps);

    // Assess
    expect(parked).toEqual({ kind: 'failed', category: 'write_failed', retry: true });
    expect(down).toMatchObject({ kind: 'failed', retry: false });
    expect(repository.get(downSet).nextRefreshAt).toBeGreaterThan(now);
    expect(crashed).toEqual({ kind: 'failed', category: 'internal', retry: true });
    expect(metrics.get('RefreshFailed{category=internal}')).toBe(1);
    expect(refreshed).toEqual({ kind: 'refreshed' });
    expect(notDue).toEqual({ kind: 'skipped' });
  });

  it('reports a lease another worker holds, and leaves the refresh to it', async () => {
    // Prepare
    const set = seed();
    now = T0 + 45 * MINUTE;
    await repository.acquireLease(set, { owner: 'other', now, leaseMs: 30_000 });

    // Act
    const outcome = await refreshDueToken(set, deps);

    // Assess
    expect(outcome).toEqual({ kind: 'lease_held' });
    expect(server.calls).toBe(0);
  });
});
