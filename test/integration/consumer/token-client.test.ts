import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSUMER_READABLE_ATTRIBUTES } from '#shared/adapters/dynamodb/table-schema.js';
import { PortalNotFoundError, TokenUnavailableError } from '#shared/core/domain/errors.js';
import { HOUR } from '#shared/core/domain/time.js';
import { refreshTokenSet } from '#shared/core/use-cases/refresh-token-set.js';
import { type ConsumerHarness, startConsumerHarness, VENDOR_FUNCTION } from '#test/helpers/harnesses/consumer.js';

const isReadable = (name: string): boolean => (CONSUMER_READABLE_ATTRIBUTES as readonly string[]).includes(name);

let h: ConsumerHarness;
let seq = 0;
/** A fresh portal name per test: the emulator and the table are shared by the file. */
const domain = (): string => `consumer${++seq}-${Date.now().toString(36)}.bitrix24.com`;

beforeAll(async () => {
  h = await startConsumerHarness();
});
afterAll(async () => {
  await h.stop();
});

describe('consumer getAccessToken (emulator + DynamoDB Local + the token vendor over Lambda Invoke)', () => {
  it.each([
    ['without a user', false],
    ['naming the user', true],
  ])(
    'gives 100 concurrent readers of an expired token (%s) one refresh, one vendor call and at most 7 DynamoDB requests',
    async (_, nameUser) => {
      // Prepare
      const { portal, stored } = await h.seedPortal(domain());
      const tokens = h.tokenClient();
      const rest = h.restClient(tokens);
      h.emulator.clock.advance(HOUR + 1);
      h.resetCounts();

      // Act
      const results = await Promise.all(
        Array.from({ length: 100 }, () =>
          tokens.getAccessToken(nameUser ? { memberId: portal.memberId, userId: 1 } : { memberId: portal.memberId }),
        ),
      );
      await h.lambda.settle();
      const requests = h.dynamoDbRequests();
      const invocations = { ...h.lambda.counts };
      const profile = await rest.call<{ ID: string }>(portal.memberId, 'profile');

      // Assess
      expect(h.emulator.refreshCount(portal)).toBe(1);
      expect(invocations).toEqual({ [`${VENDOR_FUNCTION}:RequestResponse`]: 1 });
      // 5 for the reads, the lease and the fenced write; 2 for the timeline: the token had expired, so
      // this refresh opens a new access-token run, which the history item records (read, then put).
      expect(requests).toBeLessThanOrEqual(7);
      expect(new Set(results.map((t) => t.accessToken)).size).toBe(1);
      expect(results[0]?.accessToken).not.toBe(stored.accessToken);
      expect(results[0]?.version).toBe(stored.version + 1);
      expect(profile.result.ID).toBe('1');
      expect(h.emulator.tokenState(stored.refreshToken).state).not.toBe('live');
    },
  );

  it('reads only what the consumer grant allows: GetItem and Query of PORTAL# items, projecting exactly the readable attributes', async () => {
    // Prepare
    const { portal } = await h.seedPortal(domain());
    const expired = await h.seedPortal(domain());
    h.resetCounts();

    // Act: a default-user lookup, a named read, a missing user, and an expired token (the vendor's part excluded).
    const tokens = h.tokenClient();
    await tokens.getAccessToken({ memberId: portal.memberId });
    await h.tokenClient().getAccessToken({ memberId: portal.memberId, userId: 1 });
    await h
      .tokenClient()
      .getAccessToken({ memberId: portal.memberId, userId: 2 })
      .catch(() => undefined);
    h.emulator.clock.advance(HOUR + 1);
    await h.tokenClient().getAccessToken({ memberId: expired.portal.memberId, userId: 1 });
    const libraryRequests = h.libraryDb.seen;

    // Assess
    expect(libraryRequests.map((r) => r.operation).sort()).toEqual(['GetItem', 'GetItem', 'GetItem', 'Query']);
    for (const request of libraryRequests) {
      const body = request.body as {
        ProjectionExpression?: string;
        ExpressionAttributeNames?: Record<string, string>;
        Select?: string;
      };
      const projected = (body.ProjectionExpression ?? '')
        .split(',')
        .map((name) => body.ExpressionAttributeNames?.[name.trim()]);
      expect(projected).toEqual([...CONSUMER_READABLE_ATTRIBUTES]);
      expect(Object.values(body.ExpressionAttributeNames ?? {}).every((name) => isReadable(name))).toBe(true);
      if (request.operation === 'Query') expect(body.Select).toBe('SPECIFIC_ATTRIBUTES');
      expect(request.pk).toMatch(/^PORTAL#/);
    }
  });

  it('lets two independent library instances (separate caches) meeting one expired token refresh once', async () => {
    // Prepare
    const { portal } = await h.seedPortal(domain());
    const first = h.tokenClient();
    const second = h.tokenClient();
    h.emulator.clock.advance(HOUR + 1);

    // Act
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (i % 2 === 0 ? first : second).getAccessToken({ memberId: portal.memberId, userId: 1 }),
      ),
    );

    // Assess
    expect(h.emulator.refreshCount(portal)).toBe(1);
    expect(new Set(results.map((t) => t.accessToken)).size).toBe(1);
    const [chain] = h.emulator.chainState(portal, 1);
    const stored = await h.repository.getTokenSet({ memberId: portal.memberId, userId: 1 });
    expect(chain?.refreshFingerprint).toBe(h.emulator.fingerprint(stored?.refreshToken ?? ''));
  });

  it('refreshes on a stale report of the current version, and not on one of an old version', async () => {
    // Prepare
    const { portal, stored } = await h.seedPortal(domain());
    const reporter = h.tokenClient();
    const latecomer = h.tokenClient();

    // Act
    const fresh = await reporter.getAccessToken({ memberId: portal.memberId, userId: 1, staleVersion: stored.version });
    const late = await latecomer.getAccessToken({ memberId: portal.memberId, userId: 1, staleVersion: stored.version });

    // Assess
    expect(h.emulator.refreshCount(portal)).toBe(1);
    expect(fresh.version).toBe(stored.version + 1);
    expect(late.accessToken).toBe(fresh.accessToken);
    expect(h.emulator.tokenState(fresh.accessToken).state).toBe('live');
  });

  it('never hands out the refresh token, not even in JSON', async () => {
    // Prepare
    const { portal, stored } = await h.seedPortal(domain());
    const tokens = h.tokenClient();

    // Act
    const token = await tokens.getAccessToken({ memberId: portal.memberId });

    // Assess
    expect(Object.keys(token).sort()).toEqual([
      'accessToken',
      'clientEndpoint',
      'domain',
      'expiresAt',
      'memberId',
      'userId',
      'version',
    ]);
    expect(JSON.stringify(token)).not.toContain(stored.refreshToken);
    expect(Object.values(token)).not.toContain(stored.refreshToken);
  });

  it('records use (lastUsedAt) for the warm-while-used policy', async () => {
    // Prepare
    const { portal } = await h.seedPortal(domain());
    const tokens = h.tokenClient();

    // Act
    await tokens.getAccessToken({ memberId: portal.memberId });

    // Assess: recorded by the vendor (an asynchronous invocation)
    await h.lambda.settle();
    const stored = await h.repository.getTokenSet({ memberId: portal.memberId, userId: 1 });
    expect(stored?.lastUsedAt).toBe(h.emulator.clock.now());
  });

  it('answers reauth_required once the chain is dead (invalid_grant)', async () => {
    // Prepare
    const { portal } = await h.seedPortal(domain());
    const tokens = h.tokenClient();
    h.emulator.revokeApp(portal);
    h.emulator.clock.advance(HOUR + 1);

    // Act
    const error = await tokens.getAccessToken({ memberId: portal.memberId }).catch((e: unknown) => e);
    const again = await h
      .tokenClient()
      .getAccessToken({ memberId: portal.memberId })
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(TokenUnavailableError);
    expect((error as TokenUnavailableError).reason).toBe('reauth_required');
    expect((again as TokenUnavailableError).reason).toBe('reauth_required');
    const stored = await h.repository.getTokenSet({ memberId: portal.memberId, userId: 1 });
    expect(stored?.status).toBe('reauth_required');
    expect(JSON.stringify(error)).not.toContain(stored?.refreshToken ?? 'x');
  });

  it('answers payment_required while the portal has not paid', async () => {
    // Prepare
    const { portal } = await h.seedPortal(domain());
    h.emulator.setPayment(portal, 'expired');
    h.emulator.clock.advance(HOUR + 1);

    // Act
    const first = await h
      .tokenClient()
      .getAccessToken({ memberId: portal.memberId })
      .catch((e: unknown) => e);
    const second = await h
      .tokenClient()
      .getAccessToken({ memberId: portal.memberId })
      .catch((e: unknown) => e);

    // Assess
    expect((first as TokenUnavailableError).reason).toBe('payment_required');
    expect((second as TokenUnavailableError).reason).toBe('payment_required');
  });

  it('answers uninstalled after an uninstall removed the token sets', async () => {
    // Prepare
    const { portal } = await h.seedPortal(domain());
    const installation = await h.repository.getInstallation(portal.memberId);
    if (installation === undefined) throw new Error('seed failed');
    const now = h.emulator.clock.now();
    await h.repository.saveInstallation(
      { ...installation, status: 'uninstalled', uninstalledAt: now, now },
      installation.version,
    );
    await h.repository.deleteTokenSets(portal.memberId);

    // Act
    const byDefault = await h
      .tokenClient()
      .getAccessToken({ memberId: portal.memberId })
      .catch((e: unknown) => e);
    const byUser = await h
      .tokenClient()
      .getAccessToken({ memberId: portal.memberId, userId: 1 })
      .catch((e: unknown) => e);

    // Assess
    expect((byDefault as TokenUnavailableError).reason).toBe('uninstalled');
    expect((byUser as TokenUnavailableError).reason).toBe('uninstalled');
  });

  it.each([
    ['without a user', false],
    ['naming the user', true],
  ])(
    'asks the token vendor when its own table read fails (%s), never surfacing a raw SDK error',
    async (_, nameUser) => {
      // Prepare: every request of the library times out (the vendor's reads are not affected)
      const { portal } = await h.seedPortal(domain());
      const tokens = h.tokenClient();
      h.libraryDb.addRule({ operations: ['GetItem', 'Query'], fault: { kind: 'error' } });

      // Act
      const token = await tokens
        .getAccessToken(nameUser ? { memberId: portal.memberId, userId: 1 } : { memberId: portal.memberId })
        .finally(() => h.libraryDb.clear());

      // Assess
      expect(token).toMatchObject({ memberId: portal.memberId, userId: 1 });
      expect(token.expiresAt).toBeGreaterThan(h.emulator.clock.now());
    },
  );

  it('answers PortalNotFoundError for a portal the table does not know', async () => {
    // Act / Assess
    await expect(h.tokenClient().getAccessToken({ memberId: 'f'.repeat(32) })).rejects.toBeInstanceOf(
      PortalNotFoundError,
    );
  });

  it('lets a consumer whose token a sweep refresh killed retry once and succeed, without a second refresh', async () => {
    // Prepare
    const { portal } = await h.seedPortal(domain(), { nextRefreshAt: 0 });
    const tokens = h.tokenClient();
    const rest = h.restClient(tokens);
    const before = await tokens.getAccessToken({ memberId: portal.memberId });
    await refreshTokenSet({ memberId: portal.memberId, userId: 1 }, { reason: 'sweep' }, h.refresh);
    h.emulator.resetCounters();

    // Act
    const leads = await rest.call<unknown[]>(portal.memberId, 'crm.lead.list', { select: ['ID', 'TITLE'] });

    // Assess
    expect(h.emulator.tokenState(before.accessToken).state).not.toBe('live');
    expect(leads.total).toBe(60);
    expect(h.emulator.counters.rest['crm.lead.list']).toEqual({ expired_token: 1, ok: 1 });
    expect(h.emulator.refreshCount(portal)).toBe(0);
    const after = await tokens.getAccessToken({ memberId: portal.memberId });
    expect(after.version).toBe(before.version + 1);
  });
});
