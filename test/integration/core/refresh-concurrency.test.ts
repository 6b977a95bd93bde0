import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type SecretsManagerServer, startSecretsManagerServer } from '#local/secrets-manager-server.js';
import { HOUR, MINUTE } from '#shared/core/domain/time.js';
import type { TokenKey } from '#shared/core/domain/token-set.js';
import { refreshTokenSet } from '#shared/core/use-cases/refresh-token-set.js';
import type { SweepSummary } from '#shared/core/use-cases/sweep-due-tokens.js';
import { type RefreshHarness, refreshOutcomes, startRefreshHarness } from '#test/helpers/harnesses/refresh.js';
import { startReadyProcess } from '#test/helpers/processes/ready-process.js';

let h: RefreshHarness;

afterEach(async () => {
  await h.stop();
});

async function seedMany(count: number): Promise<TokenKey[]> {
  const keys: TokenKey[] = [];
  for (let i = 0; i < count; i += 1) keys.push((await h.seedPortal()).key);
  return keys;
}

/** Every stored pair is the live one of its chain, and nothing ended as reauth_required. */
async function assertNothingLost(keys: readonly TokenKey[]): Promise<void> {
  for (const key of keys) {
    const stored = await h.get(key);
    expect(stored.status).toBe('active');
    expect(h.emulator.tokenState(stored.refreshToken).state).toBe('live');
  }
}

const sum = (summaries: readonly SweepSummary[], pick: (s: SweepSummary) => number) =>
  summaries.reduce((n, s) => n + pick(s), 0);

describe('concurrent refreshes (emulator + DynamoDB Local)', () => {
  beforeEach(async () => {
    h = await startRefreshHarness();
  });

  it('3 concurrent sweeps over 30 due portals: exactly one successful refresh each, no invalid_grant, nothing lost', async () => {
    // Prepare: 30 portals, all due; 30 ms on each token call widens every race window.
    const keys = await seedMany(30);
    h.emulator.clock.advance(50 * MINUTE);
    h.emulator.faults.set('token', { latencyMs: 30 });

    // Act
    const summaries = await Promise.all([h.sweep({}, 8), h.sweep({}, 8), h.sweep({}, 8)]);

    // Assess
    for (const key of keys) expect(h.emulator.refreshCount(key.memberId)).toBe(1);
    expect(refreshOutcomes(h.emulator)).toEqual({ ok: 30 });
    expect(sum(summaries, (s) => s.refreshed)).toBe(30);
    expect(sum(summaries, (s) => s.refreshed + s.skipped + s.leaseHeld + s.failed.total)).toBe(90);
    expect(h.notifications.published).toEqual([]);
    await assertNothingLost(keys);
  });

  it('always_warm: 3 sweeps every 5 minutes for 3 hours keep every access token valid, one refresh per due time', async () => {
    // Prepare
    const keys = await seedMany(12);
    let versions = 0;

    // Act
    for (let minute = 5; minute <= 180; minute += 5) {
      h.emulator.clock.advance(5 * MINUTE);
      await Promise.all([h.sweep(), h.sweep(), h.sweep()]);
      for (const key of keys) {
        const stored = await h.get(key);
        // Renewed 15–20 min before expiry, swept every 5 min: never closer than 10 min to expiry.
        expect(stored.accessExpiresAt - h.emulator.clock.now()).toBeGreaterThanOrEqual(10 * MINUTE);
      }
    }
    for (const key of keys) versions += (await h.get(key)).version - 1;

    // Assess: every successful call at the server became exactly one stored version.
    expect(refreshOutcomes(h.emulator)).toEqual({ ok: versions });
    expect(versions).toBeGreaterThanOrEqual(12 * 3);
    expect(versions).toBeLessThanOrEqual(12 * 5);
    await assertNothingLost(keys);
  });

  it('10 consumers asking on demand at once while sweeps run: one refresh, everybody gets the winner’s token', async () => {
    // Prepare
    const [key] = await seedMany(1);
    if (key === undefined) throw new Error('no portal');
    h.emulator.clock.advance(HOUR - 2 * MINUTE);
    h.emulator.faults.set('token', { latencyMs: 50 });

    // Act
    const results = await Promise.all([
      ...Array.from({ length: 10 }, () =>
        refreshTokenSet(
          key,
          { reason: 'on_demand', seenVersion: 1 },
          { ...h.deps, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) },
        ),
      ),
      h.sweep(),
      h.sweep(),
    ]);

    // Assess
    const tokens = new Set(results.flatMap((r) => ('tokenSet' in r ? [r.tokenSet.accessToken] : [])));
    expect(tokens.size).toBe(1);
    expect(refreshOutcomes(h.emulator)).toEqual({ ok: 1 });
    await assertNothingLost([key]);
  });

  it('notifies exactly once per transition when concurrent sweeps see the same failures and the same recovery', async () => {
    // Prepare
    const keys = await seedMany(8);
    h.emulator.clock.advance(50 * MINUTE);
    h.emulator.faults.failRate('token', 1, { status: 503 });

    // Act: rounds of 3 concurrent sweeps until every portal is degraded, then until all recovered.
    const dueTime = async () =>
      Math.max(...(await Promise.all(keys.map(async (k) => (await h.get(k)).nextRefreshAt ?? 0))));
    for (let round = 0; round < 10; round += 1) {
      await Promise.all([h.sweep(), h.sweep(), h.sweep()]);
      h.emulator.clock.set(Math.max(h.emulator.clock.now(), await dueTime()));
    }
    const degraded = await Promise.all(keys.map(async (k) => (await h.get(k)).status));
    h.emulator.faults.clear();
    await Promise.all([h.sweep(), h.sweep(), h.sweep()]);

    // Assess
    expect(degraded.every((s) => s === 'degraded')).toBe(true);
    for (const key of keys) {
      expect(h.notifications.events(key.memberId)).toEqual(['degraded', 'recovered']);
    }
    expect(refreshOutcomes(h.emulator)).toEqual({ ok: 8 });
    await assertNothingLost(keys);
  });
});

describe('concurrent sweeps in separate processes', () => {
  let secrets: SecretsManagerServer;

  beforeEach(async () => {
    // The emulator's frozen instant is the real one, so the processes' receipt times agree with it.
    h = await startRefreshHarness({ startAt: Date.now() });
    const app = h.emulator.app();
    secrets = await startSecretsManagerServer({
      creds: JSON.stringify({ clientId: app.clientId, clientSecret: app.clientSecret }),
    });
  });
  afterEach(async () => {
    await secrets.stop();
  });

  /** Starts a sweep process (`node --import tsx`, the loader `npx tsx` uses) and resolves once it is ready. */
  async function startProcess(
    now: number,
  ): Promise<{ child: ChildProcessWithoutNullStreams; summary: Promise<SweepSummary> }> {
    const { child, result } = await startReadyProcess<SweepSummary>('test/helpers/processes/sweep-process.ts', {
      TABLE_NAME: h.table.tableName,
      DUE_SHARDS: '3',
      BITRIX_URL_REWRITES: JSON.stringify(h.emulator.urlRewrites),
      CLIENT_CREDENTIALS_SECRET_ID: 'creds',
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
      REFRESH_SWEEP_CONCURRENCY: '6',
      SWEEP_NOW: String(now),
    });
    return { child, summary: result };
  }

  it('3 sweep processes over 30 due portals: exactly one successful refresh each, no invalid_grant, nothing lost', async () => {
    // Prepare
    const keys = await seedMany(30);
    h.emulator.clock.advance(50 * MINUTE);
    h.emulator.faults.set('token', { latencyMs: 30 });
    const processes = await Promise.all([0, 1, 2].map(() => startProcess(h.emulator.clock.now())));

    // Act: release all three at once.
    for (const { child } of processes) child.stdin.write('go\n');
    const summaries = await Promise.all(processes.map((p) => p.summary));

    // Assess
    for (const key of keys) expect(h.emulator.refreshCount(key.memberId)).toBe(1);
    expect(refreshOutcomes(h.emulator)).toEqual({ ok: 30 });
    expect(sum(summaries, (s) => s.refreshed)).toBe(30);
    expect(sum(summaries, (s) => s.failed.total)).toBe(0);
    await assertNothingLost(keys);
  });
});
