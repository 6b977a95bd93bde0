import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbParkedEventRepository } from '#shared/adapters/dynamodb/parked-event-repository.js';
import { DynamoDbRecoveryStore } from '#shared/adapters/dynamodb/recovery-store.js';
import { DynamoDbTokenRepository } from '#shared/adapters/dynamodb/token-repository.js';
import { hashApplicationToken } from '#shared/core/domain/application-token.js';
import { claimId, type InstallClaim } from '#shared/core/domain/lifecycle-events.js';
import { PARKED_RETRY_SPREAD } from '#shared/core/domain/parked-event.js';
import { DAY, HOUR, MINUTE } from '#shared/core/domain/time.js';
import { SILENT_LOGGER } from '#shared/core/ports/logger.js';
import type { InstallClaimDeps } from '#shared/core/use-cases/finish-install-claim.js';
import { finishParkedEvents } from '#shared/core/use-cases/finish-parked-events.js';
import { registerInstallation } from '#shared/core/use-cases/register-installation.js';
import { type UninstallPortalDeps, uninstallPortal } from '#shared/core/use-cases/uninstall-portal.js';
import { MemoryAuthServer } from '#test/fakes/memory-auth-server.js';
import { MemoryMetrics } from '#test/fakes/memory-metrics.js';
import { MemoryNotifications } from '#test/fakes/memory-notifications.js';
import { MemoryPortalProfile } from '#test/fakes/memory-portal-profile.js';
import { memberId as newMemberId, token } from '#test/helpers/builders/fixtures.js';
import { testRefreshSettings } from '#test/helpers/builders/refresh-settings.js';
import { createTestTable, readWholeTable, type TestTable } from '#test/helpers/harnesses/table.js';

let table: TestTable;
let tokens: DynamoDbTokenRepository;
let parked: DynamoDbParkedEventRepository;
let server: MemoryAuthServer;
let clock: number;
let deps: InstallClaimDeps & UninstallPortalDeps;
let notifications: MemoryNotifications;

beforeAll(async () => {
  table = await createTestTable('lifecycle-uc');
  tokens = new DynamoDbTokenRepository({ client: table.client, tableName: table.tableName });
  parked = new DynamoDbParkedEventRepository({ client: table.client, tableName: table.tableName, shards: 2 });
  clock = Date.now();
  // Stands in for the authorization server: it knows the refresh tokens it issued and rotates them. The
  // end-to-end tests (app-events, install-page) use the emulator over HTTP; these pin down the use
  // cases' decisions against real DynamoDB.
  server = new MemoryAuthServer(
    () => clock,
    (memberId) => `https://p-${memberId.slice(0, 6)}.bitrix24.com/rest/`,
  );
  notifications = new MemoryNotifications();
  deps = {
    tokens,
    parked,
    oauth: server,
    allowedAuthServers: ['oauth.bitrix.info', 'oauth.bitrix24.tech'],
    refreshTokenLifetimeMs: 30 * DAY,
    nextRefreshAt: (issued) => issued.accessExpiresAt - 10 * 60_000,
    parking: { retry: { baseMs: MINUTE, maxMs: HOUR, spread: PARKED_RETRY_SPREAD }, maxAgeMs: 7 * DAY },
    receiptTtlSeconds: 48 * 3600,
    profiles: new MemoryPortalProfile(),
    refresh: {
      repository: tokens,
      oauth: server,
      recovery: new DynamoDbRecoveryStore({ client: table.client, tableName: table.tableName }),
      notifications,
      metrics: new MemoryMetrics(),
      logger: SILENT_LOGGER,
      settings: testRefreshSettings(),
      clock: () => clock,
      random: () => 0.5,
    },
    notifications,
    metrics: new MemoryMetrics(),
    logger: SILENT_LOGGER,
    now: () => clock,
    random: () => 0,
  };
});
afterAll(async () => {
  await table.drop();
});

function claim(overrides: Partial<InstallClaim> = {}): InstallClaim {
  const memberId = overrides.memberId ?? newMemberId();
  return {
    trigger: 'ONAPPINSTALL',
    memberId,
    refreshToken: server.issue(memberId),
    serverEndpoints: ['https://oauth.bitrix.info/rest/'],
    applicationTokenHash: hashApplicationToken('app-token-1'),
    scope: 'crm,user_brief',
    appVersion: '1',
    receivedAt: clock,
    ...overrides,
  };
}

describe('registerInstallation (DynamoDB Local)', () => {
  it('stores the pair the authorization server returned, not the claimed one, with the application token hash', async () => {
    // Prepare
    const input = claim();

    // Act
    const outcome = await registerInstallation(input, deps);

    // Assess
    expect(outcome).toMatchObject({ kind: 'registered', userId: 1, newInstallation: true, keptNewerChain: false });
    const installation = await tokens.getInstallation(input.memberId);
    expect(installation).toMatchObject({
      status: 'active',
      applicationTokenHash: hashApplicationToken('app-token-1'),
      appVersion: '1',
    });
    const set = await tokens.getTokenSet({ memberId: input.memberId, userId: 1 });
    expect(set?.refreshToken).not.toBe(input.refreshToken);
    expect(set?.source).toBe('install_event');
    expect(set?.scope).toBe('crm,user_brief');
  });

  it('refuses tokens the server does not know, another portal, and servers off the allow-list, writing nothing', async () => {
    // Prepare
    const victim = newMemberId();
    const before = await readWholeTable(table.client, table.tableName);
    const callsBefore = server.calls;

    // Act
    const unknown = await registerInstallation(claim({ memberId: victim, refreshToken: token() }), deps);
    const otherPortal = await registerInstallation(
      claim({ memberId: victim, refreshToken: server.issue(newMemberId()) }),
      deps,
    );
    const offList = await registerInstallation(
      claim({ memberId: victim, serverEndpoints: ['https://oauth.evil.example/rest/'] }),
      deps,
    );
    const plainHttp = await registerInstallation(
      claim({ memberId: victim, serverEndpoints: ['http://oauth.bitrix.info/rest/'] }),
      deps,
    );

    // Assess
    expect(unknown).toMatchObject({ kind: 'refused', reason: 'not_our_tokens' });
    expect(otherPortal).toMatchObject({ kind: 'refused', reason: 'member_mismatch' });
    expect(offList).toMatchObject({ kind: 'refused', reason: 'server_not_allowed' });
    expect(plainHttp).toMatchObject({ kind: 'refused', reason: 'server_not_allowed' });
    expect(server.calls - callsBefore).toBe(2);
    expect(await readWholeTable(table.client, table.tableName)).toEqual(before);
  });

  it('answers a second delivery of the same claim as a duplicate without asking the server again', async () => {
    // Prepare
    const input = claim();
    await registerInstallation(input, deps);
    const stored = await tokens.getTokenSet({ memberId: input.memberId, userId: 1 });
    const callsBefore = server.calls;

    // Act
    const again = await registerInstallation(input, deps);

    // Assess
    expect(again.kind).toBe('duplicate');
    expect(server.calls).toBe(callsBefore);
    expect(await tokens.getTokenSet({ memberId: input.memberId, userId: 1 })).toEqual(stored);
  });

  it('keeps a healthy chain written after the claim arrived instead of overwriting it', async () => {
    // Prepare
    const first = claim();
    await registerInstallation(first, deps);
    clock += 1000;
    const newer = await tokens.getTokenSet({ memberId: first.memberId, userId: 1 });
    const late = claim({ memberId: first.memberId, receivedAt: clock - 5000, trigger: 'ONAPPUPDATE' });

    // Act
    const outcome = await registerInstallation(late, deps);

    // Assess
    expect(outcome).toMatchObject({ kind: 'registered', keptNewerChain: true, newInstallation: false });
    expect(await tokens.getTokenSet({ memberId: first.memberId, userId: 1 })).toEqual(newer);
  });

  it('replaces a dead chain (reauth_required) with the verified new one', async () => {
    // Prepare
    const first = claim();
    await registerInstallation(first, deps);
    const key = { memberId: first.memberId, userId: 1 };
    const dead = await tokens.getTokenSet(key);
    await tokens.recordFailure(key, {
      usedRefreshToken: dead?.refreshToken ?? '',
      failure: { category: 'invalid_grant', code: 'invalid_grant', message: 'chain dead', at: clock },
      status: 'reauth_required',
      consecutiveFailures: 1,
      now: clock,
    });
    clock += 1000;

    // Act
    const outcome = await registerInstallation(
      claim({ memberId: first.memberId, trigger: 'install_page', applicationTokenHash: undefined }),
      deps,
    );

    // Assess
    expect(outcome).toMatchObject({ kind: 'registered', keptNewerChain: false });
    const repaired = await tokens.getTokenSet(key);
    expect(repaired?.status).toBe('active');
    expect(repaired?.source).toBe('install_page');
    expect(repaired?.version).toBe((dead?.version ?? 0) + 2);
    expect((await tokens.getInstallation(first.memberId))?.applicationTokenHash).toBe(
      hashApplicationToken('app-token-1'),
    );
  });
});

describe('parked claims (DynamoDB Local)', () => {
  it('parks a claim while the server is down and finishes it once the server is back', async () => {
    // Prepare
    const input = claim();
    server.down = true;

    // Act
    const first = await registerInstallation(input, deps);
    const whileDown = await finishParkedEvents(deps, { deadline: clock + 1 }).then(async (summary) => {
      clock += 61_000;
      return { early: summary, due: await finishParkedEvents(deps, { deadline: clock + 1 }) };
    });
    server.down = false;
    clock += 10 * 60_000;
    const afterRecovery = await finishParkedEvents(deps, { deadline: clock + 1 });

    // Assess
    expect(first.kind).toBe('parked');
    expect(whileDown.early.retried).toBe(0);
    expect(whileDown.due.retried).toBeGreaterThanOrEqual(1);
    expect(afterRecovery.finished).toBeGreaterThanOrEqual(1);
    expect((await tokens.getInstallation(input.memberId))?.status).toBe('active');
    expect(await parked.listForPortal(input.memberId)).toEqual([]);
    expect(await registerInstallation(input, deps)).toMatchObject({ kind: 'duplicate' });
  });

  it('drops a parked claim the server refuses at its first answer, storing nothing and telling nobody', async () => {
    // Prepare
    const forged = claim({ refreshToken: token() });
    await parked.park(
      { id: claimId(forged), claim: forged, attempts: 0, settledAttempts: 0, dueAt: clock, parkedAt: clock },
      3600,
    );

    // Act
    const summary = await finishParkedEvents(deps, { deadline: clock + 1 });

    // Assess
    expect(summary).toMatchObject({ dropped: 1, lost: 0 });
    expect(await tokens.getInstallation(forged.memberId)).toBeUndefined();
    expect(await parked.listForPortal(forged.memberId)).toEqual([]);
    expect(notifications.events(forged.memberId)).toEqual([]);
  });

  it('cannot tell a refused claim from a spent one after an attempt that got no usable answer: reports it after a grace period', async () => {
    // Prepare
    const forged = claim({ refreshToken: token() });
    server.down = true;
    await registerInstallation(forged, deps);
    server.down = false;
    clock += 2 * HOUR;

    // Act
    const first = await finishParkedEvents(deps, { deadline: clock + 1 });
    clock += 2 * HOUR;
    const second = await finishParkedEvents(deps, { deadline: clock + 1 });

    // Assess
    expect(first).toMatchObject({ retried: 1, dropped: 0, lost: 0 });
    expect(second).toMatchObject({ lost: 1 });
    expect(await tokens.getInstallation(forged.memberId)).toBeUndefined();
    expect(await parked.listForPortal(forged.memberId)).toEqual([]);
    expect(notifications.published.filter((n) => n.memberId === forged.memberId)).toMatchObject([
      { event: 'install_lost', reason: 'verification_answer_lost' },
    ]);
  });

  it('reports a parked claim older than the maximum age as a lost install, without asking the server', async () => {
    // Prepare
    const old = claim();
    server.down = true;
    await registerInstallation(old, deps);
    server.down = false;
    clock += 8 * DAY;
    const callsBefore = server.calls;

    // Act
    const summary = await finishParkedEvents(deps, { deadline: clock + 1 });

    // Assess
    expect(summary.lost).toBeGreaterThanOrEqual(1);
    expect(server.calls).toBe(callsBefore);
    expect(await tokens.getInstallation(old.memberId)).toBeUndefined();
    expect(await parked.listForPortal(old.memberId)).toEqual([]);
    // The one attempt got a 503: it may have spent the token, so the loss is reported as such.
    expect(notifications.published.filter((n) => n.memberId === old.memberId)).toMatchObject([
      { event: 'install_lost', reason: 'verification_answer_lost', from: 'none', to: 'none' },
    ]);
  });
});

describe('uninstallPortal (DynamoDB Local)', () => {
  it('changes nothing for a wrong application token, and uninstalls for the right one', async () => {
    // Prepare
    const input = claim();
    await registerInstallation(input, deps);
    const before = await readWholeTable(table.client, table.tableName);

    // Act
    const wrong = await uninstallPortal(
      { memberId: input.memberId, applicationToken: 'app-token-2', clean: false, receivedAt: clock },
      deps,
    );
    const afterWrong = await readWholeTable(table.client, table.tableName);
    const right = await uninstallPortal(
      { memberId: input.memberId, applicationToken: 'app-token-1', clean: false, receivedAt: clock },
      deps,
    );

    // Assess
    expect(wrong.kind).toBe('forbidden');
    expect(afterWrong).toEqual(before);
    expect(right).toMatchObject({ kind: 'uninstalled', clean: false, tokenSetsDeleted: 1 });
    expect(await tokens.getInstallation(input.memberId)).toMatchObject({ status: 'uninstalled' });
    expect(await tokens.listTokenSets(input.memberId)).toEqual([]);
  });

  it('with CLEAN deletes every item of the portal; a repeat is a no-op', async () => {
    // Prepare
    const input = claim();
    await registerInstallation(input, deps);

    // Act
    const clean = await uninstallPortal(
      { memberId: input.memberId, applicationToken: 'app-token-1', clean: true, receivedAt: clock },
      deps,
    );
    const repeat = await uninstallPortal(
      { memberId: input.memberId, applicationToken: 'app-token-1', clean: true, receivedAt: clock },
      deps,
    );

    // Assess
    expect(clean.kind).toBe('uninstalled');
    expect(repeat.kind).toBe('unknown_portal');
    const items = await readWholeTable(table.client, table.tableName);
    expect(items.filter((item) => String(item.pk).endsWith(input.memberId))).toEqual([]);
  });

  it('cancels a parked install claim of a portal we do not know yet, so it cannot revive it later', async () => {
    // Prepare
    const input = claim();
    server.down = true;
    await registerInstallation(input, deps);
    server.down = false;

    // Act
    const outcome = await uninstallPortal(
      { memberId: input.memberId, applicationToken: 'app-token-1', clean: false, receivedAt: clock },
      deps,
    );
    clock += HOUR;
    await finishParkedEvents(deps, { deadline: clock + 1 });

    // Assess
    expect(outcome).toMatchObject({ kind: 'unknown_portal', cancelledParked: 1 });
    expect(await tokens.getInstallation(input.memberId)).toBeUndefined();
  });

  it('treats an install claim received before an uninstall as void, and a later one as a reinstall', async () => {
    // Prepare
    const input = claim();
    await registerInstallation(input, deps);
    const receivedEarlier = clock;
    clock += 1000;
    await uninstallPortal(
      { memberId: input.memberId, applicationToken: 'app-token-1', clean: false, receivedAt: clock },
      deps,
    );
    clock += 1000;

    // Act
    const stale = await registerInstallation(claim({ memberId: input.memberId, receivedAt: receivedEarlier }), deps);
    const reinstall = await registerInstallation(
      claim({ memberId: input.memberId, applicationTokenHash: hashApplicationToken('app-token-3') }),
      deps,
    );

    // Assess
    expect(stale.kind).toBe('stale');
    expect(reinstall).toMatchObject({ kind: 'registered', newInstallation: true });
    expect(await tokens.getInstallation(input.memberId)).toMatchObject({
      status: 'active',
      applicationTokenHash: hashApplicationToken('app-token-3'),
    });
  });
});
