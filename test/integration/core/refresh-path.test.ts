import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LoggingNotificationPublisher } from '#shared/adapters/logging-notification-publisher.js';
import type { TokenRefreshError, TokenUnavailableError } from '#shared/core/domain/errors.js';
import { HOUR, MINUTE } from '#shared/core/domain/time.js';
import type { RefreshRepository } from '#shared/core/use-cases/refresh-token-set.js';
import { refreshTokenSet } from '#shared/core/use-cases/refresh-token-set.js';
import { powertoolsLogger } from '#test/helpers/builders/loggers.js';
import { type RefreshHarness, refreshOutcomes, startRefreshHarness } from '#test/helpers/harnesses/refresh.js';
import { captureOutput } from '#test/helpers/vitest/capture-output.js';
import { tokenRequest } from '#test/integration/local/emulator/helpers.js';

let h: RefreshHarness;

// A fresh emulator and table per test: sweeps and counters see only the test's own portals.
beforeEach(async () => {
  h = await startRefreshHarness({ timeoutMs: 1000 });
});
afterEach(async () => {
  await h.stop();
});

/** The table, except that writing a refreshed pair (and, optionally, releasing a lease) fails, as in an outage. */
function unwritableTokens(options: { releaseFails: boolean }): RefreshRepository {
  return {
    getTokenSet: (k) => h.repository.getTokenSet(k),
    acquireLease: (k, i) => h.repository.acquireLease(k, i),
    recordFailure: (k, i) => h.repository.recordFailure(k, i),
    completeRefresh: async () => {
      throw new Error('ServiceUnavailable');
    },
    releaseLease: async (k, o) => {
      if (options.releaseFails) throw new Error('ServiceUnavailable');
      await h.repository.releaseLease(k, o);
    },
    readHistory: (k) => h.repository.readHistory(k),
    writeHistory: (k, e, v, n) => h.repository.writeHistory(k, e, v, n),
  };
}

/** Moves the emulator clock to the token set's due time (plus `extraMs`). */
async function advanceToDue(key: { memberId: string; userId: number }, extraMs = 0): Promise<void> {
  const due = (await h.get(key)).nextRefreshAt;
  if (due === undefined) throw new Error('not in the due index');
  const delta = due - h.emulator.clock.now() + extraMs;
  if (delta > 0) h.emulator.clock.advance(delta);
}

describe('refresh path against the emulator and DynamoDB Local', () => {
  it('refreshes before expiry, keeps the portal domain and the granted scopes, and leaves one live chain', async () => {
    // Prepare
    const { portal, key, stored } = await h.seedPortal({ scope: 'crm,user,task' });
    await advanceToDue(key);

    // Act
    const result = await refreshTokenSet(key, { reason: 'sweep' }, h.deps);

    // Assess: the answer said domain "oauth.bitrix.info" and scope "app"; neither was stored.
    expect(result.kind).toBe('refreshed');
    expect(result.tokenSet.domain).toBe(portal.domain);
    expect(result.tokenSet.scope).toBe('crm,user,task');
    expect(result.tokenSet.accessExpiresAt).toBeGreaterThan(h.emulator.clock.now());
    expect(h.emulator.tokenState(result.tokenSet.refreshToken).state).toBe('live');
    expect(h.emulator.tokenState(stored.refreshToken).state).not.toBe('live');
    expect(h.emulator.refreshCount(portal)).toBe(1);
  });

  it('a slow provider call outliving the lease: the late writer is fenced, nobody is marked reauth_required', async () => {
    // Prepare: a 300 ms lease, an HTTP timeout longer than it (config forbids this; the fence must
    // hold anyway), and 600 ms of emulator latency on every token call.
    const { portal, key } = await h.seedPortal();
    await advanceToDue(key);
    const deps = { ...h.deps, settings: { ...h.settings, leaseMs: 300 }, oauth: h.oauthClient({ timeoutMs: 5000 }) };
    h.emulator.faults.set('token', { latencyMs: 600 });
    const slow = refreshTokenSet(key, { reason: 'sweep' }, deps).catch((e: unknown) => e);
    while ((await h.get(key)).leaseOwner === undefined) await new Promise((r) => setTimeout(r, 10));
    h.emulator.clock.advance(301);

    // Act: a second worker takes the expired lease and spends the same (already used) token.
    const late = refreshTokenSet(key, { reason: 'sweep' }, deps).catch((e: unknown) => e);
    const [first, second] = await Promise.all([slow, late]);
    h.emulator.faults.clear();

    // Assess
    const stored = await h.get(key);
    expect(stored.status).toBe('active');
    expect(h.emulator.tokenState(stored.refreshToken).state).toBe('live');
    expect(h.emulator.refreshCount(portal)).toBe(1);
    expect(
      [first, second].some((r) => typeof r === 'object' && r !== null && 'kind' in r && r.kind === 'refreshed'),
    ).toBe(true);
    expect(h.notifications.events(key.memberId)).toContain('refresh_interrupted');
    expect(h.notifications.events(key.memberId)).not.toContain('reauth_required');
    // Whatever the second worker recorded, the next due refresh continues the winner's chain.
    await advanceToDue(key, 1);
    await refreshTokenSet(key, { reason: 'sweep' }, h.deps);
    expect(h.emulator.refreshCount(portal)).toBe(2);
  });

  it('a crash after the server answered (token spent, nothing written) is detected, surfaced, and concluded only after the grace period', async () => {
    // Prepare: a worker took the lease, spent the token at the server, and died.
    const { key, stored } = await h.seedPortal();
    await advanceToDue(key);
    await h.repository.acquireLease(key, {
      owner: 'sweep:crashed',
      now: h.emulator.clock.now(),
      leaseMs: h.settings.leaseMs,
    });
    const app = h.emulator.app();
    const spent = await tokenRequest(h.emulator, {
      grant_type: 'refresh_token',
      client_id: app.clientId,
      client_secret: app.clientSecret,
      refresh_token: stored.refreshToken,
    });
    expect(spent.status).toBe(200);

    // Act
    const whileLeased = await h.sweep();
    h.emulator.clock.advance(h.settings.leaseMs + 1);
    const takeover = await h.sweep();
    const inGrace = await h.get(key);
    h.emulator.clock.advance(h.settings.failures.takeoverGraceMs);
    const concluded = await h.sweep();

    // Assess
    expect(whileLeased.leaseHeld).toBe(1);
    expect(takeover.failed.byCategory).toEqual({ invalid_grant: 1 });
    expect(inGrace.status).toBe('active');
    expect(inGrace.lastFailure?.code).toBe('invalid_grant_after_takeover');
    expect(concluded.failed.byCategory).toEqual({ invalid_grant: 1 });
    expect((await h.get(key)).status).toBe('reauth_required');
    expect(
      h.notifications.published.filter((n) => n.memberId === key.memberId).map((n) => [n.event, n.reason]),
    ).toEqual([
      ['refresh_interrupted', 'lease_expired_unreleased'],
      ['reauth_required', 'invalid_grant_after_interrupted_refresh'],
    ]);
  });

  it('a write that keeps failing parks the pair; a crash before the lease is released is taken over and the parked pair applied', async () => {
    // Prepare: the store refuses the token write (and the lease release), as during an outage.
    const { portal, key } = await h.seedPortal();
    await advanceToDue(key);
    const failing = unwritableTokens({ releaseFails: true });

    // Act
    const lost = await refreshTokenSet(key, { reason: 'sweep' }, { ...h.deps, repository: failing }).catch(
      (e: unknown) => e,
    );
    const spent = (await h.get(key)).refreshToken;
    const parked = await h.recovery.get(key, spent);
    h.emulator.clock.advance(h.settings.leaseMs + 1);
    const next = await h.sweep();
    const after = await h.get(key);

    // Assess
    expect((lost as TokenRefreshError).category).toBe('write_failed');
    expect(parked).toBeDefined();
    expect(next.refreshed).toBe(1);
    expect(after.refreshToken).toBe(parked?.issued.refreshToken);
    expect(after.status).toBe('active');
    expect(h.emulator.tokenState(after.refreshToken).state).toBe('live');
    expect(await h.recovery.get(key, spent)).toBeUndefined();
    expect(h.emulator.refreshCount(portal)).toBe(1);
    expect(h.notifications.events(key.memberId)).toEqual(['lost_write', 'refresh_interrupted', 'recovered']);
    expect(h.metrics.get('LostWrite{parked=true}')).toBeGreaterThanOrEqual(1);
  });

  it('an answer lost after the server rotated (applyAfter) is transient, then surfaces as a lost answer, not silently', async () => {
    // Prepare
    const { key } = await h.seedPortal();
    await advanceToDue(key);
    h.emulator.faults.failNext('token', 1, { status: 503, applyAfter: true });

    // Act
    const first = await refreshTokenSet(key, { reason: 'sweep' }, h.deps).catch((e: unknown) => e);
    const afterFirst = await h.get(key);
    await advanceToDue(key);
    const second = await refreshTokenSet(key, { reason: 'sweep' }, h.deps).catch((e: unknown) => e);

    // Assess: the pair went to a lost answer; the chain is dead at the server, and we say why.
    expect((first as TokenRefreshError).category).toBe('transient');
    expect(afterFirst.status).toBe('active');
    expect((second as TokenRefreshError).status).toBe('reauth_required');
    expect(h.notifications.published.filter((n) => n.memberId === key.memberId).map((n) => n.reason)).toEqual([
      'invalid_grant_after_transient_failure',
    ]);
  });

  it('5xx, malformed 200s, errors sent as 200 and network timeouts never cause reauth_required, and heal when they stop', async () => {
    // Prepare
    const { portal, key, stored } = await h.seedPortal();
    const blackHole = await startBlackHole();
    const unreachable = h.oauthClient({ timeoutMs: 200, urlRewrites: { '*': `${blackHole.url}/h/{host}` } });
    const faults: (() => void)[] = [
      () => h.emulator.faults.failNext('token', 1, { status: 502 }),
      () => h.emulator.faults.set('token', { malformed200: 'not-json' }),
      () => h.emulator.faults.set('token', { malformed200: 'no-tokens' }),
      () => h.emulator.faults.failNext('token', 1, { status: 500 }),
      // An error body with HTTP 200, as Bitrix24 sometimes sends.
      () =>
        h.emulator.faults.failNext('token', 1, {
          status: 200,
          body: { error: 'INTERNAL_SERVER_ERROR', error_description: 'x' },
        }),
    ];

    // Act: five faulty attempts, one unreachable, each at its retry time.
    const statuses: string[] = [];
    for (const inject of faults) {
      h.emulator.faults.clear();
      inject();
      await advanceToDue(key);
      await refreshTokenSet(key, { reason: 'sweep' }, h.deps).catch(() => undefined);
      statuses.push((await h.get(key)).status);
    }
    h.emulator.faults.clear();
    await advanceToDue(key);
    const timedOut = await refreshTokenSet(key, { reason: 'sweep' }, { ...h.deps, oauth: unreachable }).catch(
      (e: unknown) => e,
    );
    statuses.push((await h.get(key)).status);
    await blackHole.stop();
    await advanceToDue(key);
    const healed = await refreshTokenSet(key, { reason: 'sweep' }, h.deps);

    // Assess
    expect(statuses).toEqual(['active', 'active', 'degraded', 'degraded', 'degraded', 'degraded']);
    expect((timedOut as TokenRefreshError).category).toBe('transient');
    expect(healed.tokenSet.status).toBe('active');
    expect(healed.tokenSet.refreshToken).not.toBe(stored.refreshToken);
    expect(h.emulator.refreshCount(portal)).toBe(1);
    expect(refreshOutcomes(h.emulator).invalid_grant ?? 0).toBe(0);
    expect(
      h.notifications.published.filter((n) => n.memberId === key.memberId).map((n) => `${n.event}:${n.reason}`),
    ).toEqual(['degraded:malformed_response', 'recovered:refreshed_after_failure']);
  });

  it('payment_required: own status, stays in the due index with a daily retry, consumers are told, recovers once paid', async () => {
    // Prepare
    const { portal, key } = await h.seedPortal();
    await advanceToDue(key);
    h.emulator.setPayment(portal, 'expired');

    // Act
    await refreshTokenSet(key, { reason: 'sweep' }, h.deps).catch(() => undefined);
    const unpaid = await h.get(key);
    h.emulator.clock.advance(HOUR);
    const consumer = await refreshTokenSet(key, { reason: 'on_demand' }, h.deps).catch((e: unknown) => e);
    h.emulator.setPayment(portal, 'ok');
    h.emulator.clock.advance(23 * HOUR);
    const summary = await h.sweep();

    // Assess
    expect(unpaid.status).toBe('payment_required');
    expect(unpaid.nextRefreshAt).toBe(unpaid.lastFailure === undefined ? -1 : unpaid.lastFailure.at + 24 * HOUR);
    expect((consumer as TokenUnavailableError).reason).toBe('payment_required');
    expect(summary.refreshed).toBeGreaterThanOrEqual(1);
    expect((await h.get(key)).status).toBe('active');
    expect(h.notifications.events(key.memberId)).toEqual(['payment_required', 'recovered']);
  });

  it('invalid_client (our secret is wrong): own status, the unspent token kept and retried, the chain back once the secret is fixed', async () => {
    // Prepare
    const { key, stored } = await h.seedPortal();
    await advanceToDue(key);
    const wrongSecret = h.oauthClient({ clientSecret: 'not-the-secret' });

    // Act
    await refreshTokenSet(key, { reason: 'sweep' }, { ...h.deps, oauth: wrongSecret }).catch(() => undefined);
    const refused = await h.get(key);
    const tokenAfterRefusal = h.emulator.tokenState(stored.refreshToken).state;
    h.emulator.clock.advance(5 * MINUTE);
    const tooEarly = await h.sweep();
    h.emulator.clock.advance(15 * MINUTE);
    const fixed = await h.sweep();

    // Assess
    expect(refused).toMatchObject({ status: 'invalid_client', refreshToken: stored.refreshToken });
    expect(refused.nextRefreshAt).toBe((refused.lastFailure?.at ?? 0) + 15 * MINUTE);
    expect(tokenAfterRefusal).toBe('live');
    expect(tooEarly.refreshed).toBe(0);
    expect(fixed.refreshed).toBe(1);
    expect((await h.get(key)).status).toBe('active');
    expect(h.notifications.events(key.memberId)).toEqual(['invalid_client', 'recovered']);
  });

  it('an app removed from its portal without an event: invalid_client, then uninstalled once our credentials were accepted elsewhere since; never left as invalid_client', async () => {
    // Prepare
    const removed = await h.seedPortal();
    const other = await h.seedPortal();
    await h.emulator.uninstall(removed.portal, { sendEvent: false });
    await advanceToDue(removed.key);

    // Act
    await h.sweep();
    const first = await h.get(removed.key);
    // Another portal's refresh proves our credentials work after that refusal.
    h.emulator.clock.advance(2 * MINUTE);
    await refreshTokenSet(other.key, { reason: 'on_demand', minValidityMs: 2 * HOUR }, h.deps);
    h.emulator.clock.advance(15 * MINUTE);
    await h.sweep();
    const second = await h.get(removed.key);
    const consumer = await refreshTokenSet(removed.key, { reason: 'on_demand' }, h.deps).catch((e: unknown) => e);

    // Assess
    expect(first.status).toBe('invalid_client');
    expect(second).toMatchObject({ status: 'uninstalled', nextRefreshAt: undefined });
    expect((consumer as TokenUnavailableError).reason).toBe('uninstalled');
    expect(h.notifications.published.filter((n) => n.memberId === removed.key.memberId)).toMatchObject([
      { event: 'invalid_client', to: 'invalid_client' },
      { event: 'uninstalled', from: 'invalid_client', to: 'uninstalled', reason: 'app_not_installed' },
    ]);
  });

  it('PORTAL_DELETED: portal_deleted, out of the due index, notified once, consumers told why, the token not spent', async () => {
    // Prepare
    const { portal, key, stored } = await h.seedPortal();
    h.emulator.deletePortal(portal);
    await advanceToDue(key);

    // Act
    await h.sweep();
    h.emulator.clock.advance(2 * HOUR);
    const later = await h.sweep();
    const consumer = await refreshTokenSet(key, { reason: 'on_demand' }, h.deps).catch((e: unknown) => e);

    // Assess
    expect(await h.get(key)).toMatchObject({ status: 'portal_deleted', nextRefreshAt: undefined });
    expect(later.due).toBe(0);
    expect((consumer as TokenUnavailableError).reason).toBe('portal_deleted');
    expect(h.notifications.events(key.memberId)).toEqual(['portal_deleted']);
    expect(h.emulator.tokenState(stored.refreshToken).state).toBe('live');
  });

  it('a consumer’s stale report with an old version gets the stored tokens without a server call', async () => {
    // Prepare
    const { portal, key, stored } = await h.seedPortal();
    const refreshed = await refreshTokenSet(key, { reason: 'stale_report', seenVersion: stored.version }, h.deps);

    // Act
    const again = await refreshTokenSet(key, { reason: 'stale_report', seenVersion: stored.version }, h.deps);

    // Assess
    expect(refreshed.kind).toBe('refreshed');
    expect(again.kind).toBe('current');
    expect(again.tokenSet.accessToken).toBe(refreshed.tokenSet.accessToken);
    expect(h.emulator.refreshCount(portal)).toBe(1);
    expect(refreshed.tokenSet.accessExpiresAt - h.emulator.clock.now()).toBeGreaterThan(50 * MINUTE);
  });
});

/** A TCP server that accepts connections and never answers: an unreachable authorization server. */
async function startBlackHole(): Promise<{ url: string; stop(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    stop: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('refresh path logging', () => {
  it('logs every outcome (refresh, lost write, parked pair, transient, dead chain) without a token or the client secret', async () => {
    // Prepare: everything the logger can say, and notifications as log lines.
    const logger = powertoolsLogger('DEBUG');
    const deps = { ...h.deps, logger, notifications: new LoggingNotificationPublisher(logger) };
    const { key, stored } = await h.seedPortal();
    const seen: string[] = [stored.accessToken, stored.refreshToken, h.emulator.app().clientSecret];
    const remember = async () => {
      const current = await h.get(key);
      seen.push(current.accessToken, current.refreshToken);
      const parked = await h.recovery.get(key, current.refreshToken);
      if (parked !== undefined) seen.push(parked.issued.accessToken, parked.issued.refreshToken);
    };
    const unwritable = unwritableTokens({ releaseFails: false });

    // Act
    const output = await captureOutput(async () => {
      await advanceToDue(key);
      await refreshTokenSet(key, { reason: 'sweep' }, deps);
      await remember();
      await advanceToDue(key);
      await refreshTokenSet(key, { reason: 'sweep' }, { ...deps, repository: unwritable }).catch(() => undefined);
      await remember();
      await refreshTokenSet(key, { reason: 'sweep' }, deps);
      await remember();
      await advanceToDue(key);
      h.emulator.faults.failNext('token', 1, { status: 503 });
      await refreshTokenSet(key, { reason: 'sweep' }, deps).catch(() => undefined);
      await advanceToDue(key);
      h.emulator.revokeApp(key.memberId);
      await refreshTokenSet(key, { reason: 'sweep' }, deps).catch(() => undefined);
    });

    // Assess
    expect(output).toContain('tokens refreshed');
    expect(output).toContain('refreshed pair not stored: parked for recovery');
    expect(output).toContain('parked pair applied');
    expect(output).toContain('token status changed');
    expect((await h.get(key)).status).toBe('reauth_required');
    for (const secret of seen) expect(output).not.toContain(secret);
  });
});
