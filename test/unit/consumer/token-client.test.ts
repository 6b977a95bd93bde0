import { describe, expect, it } from 'vitest';
import { TokenClient } from '#shared/consumer/token-client.js';
import {
  BitrixOAuthError,
  PortalNotFoundError,
  TokenUnavailableError,
  ValidationError,
} from '#shared/core/domain/errors.js';
import { HOUR, MINUTE } from '#shared/core/domain/time.js';
import { MemoryConsumerStore } from '#test/fakes/memory-consumer-store.js';
import { MemoryRefresher } from '#test/fakes/memory-refresher.js';
import { memberId } from '#test/helpers/builders/fixtures.js';
import { installation, tokenSet } from '#test/helpers/builders/token-sets.js';

function setup(options: { now?: number } = {}) {
  let now = options.now ?? 1_000_000_000_000;
  const clock = { now: () => now, advance: (ms: number) => (now += ms) };
  const store = new MemoryConsumerStore();
  const refresher = new MemoryRefresher(store, clock.now);
  const client = new TokenClient({
    store,
    refresher,
    now: clock.now,
    refreshMarginMs: 5 * MINUTE,
    cacheMaxAgeMs: 5 * MINUTE,
  });
  return { clock, store, refresher, client };
}

describe('TokenClient.getAccessToken', () => {
  it('returns the stored token without its refresh token, also in JSON', async () => {
    // Prepare
    const { store, client, clock } = setup();
    const id = memberId();
    const stored = tokenSet({ memberId: id, userId: 1, accessExpiresAt: clock.now() + HOUR, version: 3 });
    store.put(stored);

    // Act
    const token = await client.getAccessToken({ memberId: id, userId: 1 });

    // Assess
    expect(token).toEqual({
      accessToken: stored.accessToken,
      expiresAt: stored.accessExpiresAt,
      clientEndpoint: stored.clientEndpoint,
      domain: stored.domain,
      memberId: id,
      userId: 1,
      version: 3,
    });
    expect(Object.keys(token)).not.toContain('refreshToken');
    expect(JSON.stringify(token)).not.toContain(stored.refreshToken);
  });

  it('serves repeated reads from memory and reads again once the cache life is over', async () => {
    // Prepare
    const { store, client, clock } = setup();
    const id = memberId();
    store.put(tokenSet({ memberId: id, userId: 1, accessExpiresAt: clock.now() + HOUR }));

    // Act
    await client.getAccessToken({ memberId: id, userId: 1 });
    await client.getAccessToken({ memberId: id, userId: 1 });
    clock.advance(4 * MINUTE);
    await client.getAccessToken({ memberId: id, userId: 1 });
    const readsWithinLife = store.reads;
    clock.advance(2 * MINUTE);
    await client.getAccessToken({ memberId: id, userId: 1 });

    // Assess
    expect(readsWithinLife).toBe(1);
    expect(store.reads).toBe(2);
  });

  it('never keeps a token past expiresAt minus the margin', async () => {
    // Prepare
    const { store, client, clock, refresher } = setup();
    const id = memberId();
    store.put(tokenSet({ memberId: id, userId: 1, accessExpiresAt: clock.now() + 7 * MINUTE }));
    await client.getAccessToken({ memberId: id, userId: 1 });

    // Act
    clock.advance(2 * MINUTE + 1);
    const token = await client.getAccessToken({ memberId: id, userId: 1 });

    // Assess
    expect(store.reads).toBe(2);
    expect(refresher.refreshes).toBe(1);
    expect(token.version).toBe(2);
  });

  it("keeps a token no longer than the sweep's next refresh of it, then re-reads every 10 s", async () => {
    // Prepare
    const { store, client, clock } = setup();
    const id = memberId();
    store.put(
      tokenSet({
        memberId: id,
        userId: 1,
        accessExpiresAt: clock.now() + HOUR,
        nextRefreshAt: clock.now() + 2 * MINUTE,
      }),
    );

    // Act
    await client.getAccessToken({ memberId: id, userId: 1 });
    clock.advance(2 * MINUTE - 1);
    await client.getAccessToken({ memberId: id, userId: 1 });
    const readsBeforeSweepTime = store.reads;
    clock.advance(1);
    await client.getAccessToken({ memberId: id, userId: 1 });
    clock.advance(9_999);
    await client.getAccessToken({ memberId: id, userId: 1 });
    const readsWithinRecheck = store.reads;
    clock.advance(1);
    await client.getAccessToken({ memberId: id, userId: 1 });

    // Assess
    expect(readsBeforeSweepTime).toBe(1);
    expect(readsWithinRecheck).toBe(2);
    expect(store.reads).toBe(3);
  });

  it('refreshes through the refresh path when the token is within the margin', async () => {
    // Prepare
    const { store, client, clock, refresher } = setup();
    const id = memberId();
    const stored = tokenSet({ memberId: id, userId: 1, accessExpiresAt: clock.now() + 4 * MINUTE });
    store.put(stored);

    // Act
    const token = await client.getAccessToken({ memberId: id, userId: 1 });

    // Assess
    expect(refresher.refreshes).toBe(1);
    expect(refresher.requests).toEqual([{ reason: 'on_demand', seenVersion: 1, minValidityMs: 5 * MINUTE }]);
    expect(token.accessToken).not.toBe(stored.accessToken);
    expect(token.expiresAt).toBe(clock.now() + HOUR);
  });

  it('collapses 100 concurrent readers of an expired token into one read and one refresh', async () => {
    // Prepare
    const { store, client, clock, refresher } = setup();
    const id = memberId();
    store.put(tokenSet({ memberId: id, userId: 1, accessExpiresAt: clock.now() - 1 }));
    let open = (): void => undefined;
    refresher.gate = new Promise((resolve) => {
      open = resolve;
    });

    // Act
    const pending = Array.from({ length: 100 }, () => client.getAccessToken({ memberId: id, userId: 1 }));
    await new Promise((resolve) => setTimeout(resolve, 5));
    open();
    const tokens = await Promise.all(pending);

    // Assess
    expect(store.reads).toBe(1);
    expect(refresher.calls).toBe(1);
    expect(new Set(tokens.map((t) => t.accessToken)).size).toBe(1);
  });

  it('refreshes on a stale report of the current version', async () => {
    // Prepare
    const { store, client, clock, refresher } = setup();
    const id = memberId();
    store.put(tokenSet({ memberId: id, userId: 1, accessExpiresAt: clock.now() + HOUR, version: 4 }));
    const before = await client.getAccessToken({ memberId: id, userId: 1 });

    // Act
    const after = await client.getAccessToken({ memberId: id, userId: 1, staleVersion: before.version });

    // Assess
    expect(refresher.refreshes).toBe(1);
    expect(refresher.requests).toEqual([{ reason: 'stale_report', seenVersion: 4, minValidityMs: 5 * MINUTE }]);
    expect(after.version).toBe(5);
    expect(after.accessToken).not.toBe(before.accessToken);
  });

  it('returns the newer token without refreshing on a stale report of an old version', async () => {
    // Prepare
    const { store, client, clock, refresher } = setup();
    const id = memberId();
    store.put(tokenSet({ memberId: id, userId: 1, accessExpiresAt: clock.now() + HOUR, version: 7 }));

    // Act
    const token = await client.getAccessToken({ memberId: id, userId: 1, staleVersion: 6 });

    // Assess
    expect(refresher.calls).toBe(0);
    expect(token.version).toBe(7);
  });

  it('drops a cached token a consumer reports stale and reads the newer one another process stored', async () => {
    // Prepare
    const { store, client, clock, refresher } = setup();
    const id = memberId();
    const first = tokenSet({ memberId: id, userId: 1, accessExpiresAt: clock.now() + HOUR, version: 2 });
    store.put(first);
    await client.getAccessToken({ memberId: id, userId: 1 });
    const second = { ...first, accessToken: 'newer', version: 3 };
    store.put(second);

    // Act
    const token = await client.getAccessToken({ memberId: id, userId: 1, staleVersion: 2 });

    // Assess
    expect(refresher.calls).toBe(0);
    expect(token.accessToken).toBe('newer');
  });

  it('lets 50 concurrent stale reports of one version cause one refresh', async () => {
    // Prepare
    const { store, client, clock, refresher } = setup();
    const id = memberId();
    store.put(tokenSet({ memberId: id, userId: 1, accessExpiresAt: clock.now() + HOUR, version: 1 }));
    await client.getAccessToken({ memberId: id, userId: 1 });

    // Act
    const tokens = await Promise.all(
      Array.from({ length: 50 }, () => client.getAccessToken({ memberId: id, userId: 1, staleVersion: 1 })),
    );

    // Assess
    expect(refresher.refreshes).toBe(1);
    expect(new Set(tokens.map((t) => t.version))).toEqual(new Set([2]));
  });

  it('makes a stale reporter wait for a plain read in flight and refresh only if that read was not newer', async () => {
    // Prepare
    const { store, client, clock, refresher } = setup();
    const id = memberId();
    store.put(tokenSet({ memberId: id, userId: 1, accessExpiresAt: clock.now() + HOUR, version: 1 }));

    // Act
    const [plain, stale] = await Promise.all([
      client.getAccessToken({ memberId: id, userId: 1 }),
      client.getAccessToken({ memberId: id, userId: 1, staleVersion: 1 }),
    ]);

    // Assess
    expect(plain.version).toBe(1);
    expect(stale.version).toBe(2);
    expect(refresher.refreshes).toBe(1);
  });

  it.each([['reauth_required'], ['payment_required'], ['invalid_client'], ['uninstalled']] as const)(
    'answers a %s token set with TokenUnavailableError of that reason',
    async (status) => {
      // Prepare
      const { store, client } = setup();
      const id = memberId();
      store.put(tokenSet({ memberId: id, userId: 1, status }));

      // Act
      const error = await client.getAccessToken({ memberId: id, userId: 1 }).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(TokenUnavailableError);
      expect((error as TokenUnavailableError).reason).toBe(status);
      expect((error as TokenUnavailableError).code).toBe('unavailable');
    },
  );

  it('hands out a degraded token set (transient failures) while its token works', async () => {
    // Prepare
    const { store, client, clock } = setup();
    const id = memberId();
    store.put(tokenSet({ memberId: id, userId: 1, status: 'degraded', accessExpiresAt: clock.now() + HOUR }));

    // Act
    const token = await client.getAccessToken({ memberId: id, userId: 1 });

    // Assess
    expect(token.userId).toBe(1);
  });

  it('answers an unknown portal or user with PortalNotFoundError', async () => {
    // Prepare
    const { store, client } = setup();
    const id = memberId();
    store.put(tokenSet({ memberId: id, userId: 1 }));

    // Act / Assess
    await expect(client.getAccessToken({ memberId: memberId() })).rejects.toBeInstanceOf(PortalNotFoundError);
    await expect(client.getAccessToken({ memberId: id, userId: 2 })).rejects.toBeInstanceOf(PortalNotFoundError);
  });

  it('refuses malformed input with ValidationError', async () => {
    // Prepare
    const { client } = setup();

    // Act / Assess
    await expect(client.getAccessToken({ memberId: '../x' })).rejects.toBeInstanceOf(ValidationError);
    await expect(client.getAccessToken({ memberId: 'abc', userId: -1 })).rejects.toBeInstanceOf(ValidationError);
    await expect(client.getAccessToken({ memberId: 'abc', userId: 1, staleVersion: 1.5 })).rejects.toBeInstanceOf(
      ValidationError,
    );
  });

  it('keeps handing out a still-valid token when the refresh fails for a transient reason, then tries again', async () => {
    // Prepare
    const { store, client, clock, refresher } = setup();
    const id = memberId();
    const stored = tokenSet({ memberId: id, userId: 1, accessExpiresAt: clock.now() + 3 * MINUTE });
    store.put(stored);
    refresher.failWith = new BitrixOAuthError('timeout', 'no answer in time', 0);

    // Act
    const during = await client.getAccessToken({ memberId: id, userId: 1 });
    await client.getAccessToken({ memberId: id, userId: 1 });
    const callsInCooldown = refresher.calls;
    clock.advance(31_000);
    refresher.failWith = undefined;
    const after = await client.getAccessToken({ memberId: id, userId: 1 });

    // Assess
    expect(during.accessToken).toBe(stored.accessToken);
    expect(callsInCooldown).toBe(1);
    expect(after.version).toBe(2);
  });

  it('answers refresh_failed when the token expired and the refresh fails', async () => {
    // Prepare
    const { store, client, clock, refresher } = setup();
    const id = memberId();
    store.put(tokenSet({ memberId: id, userId: 1, accessExpiresAt: clock.now() - 1 }));
    refresher.failWith = new BitrixOAuthError('timeout', 'no answer in time', 0);

    // Act
    const error = await client.getAccessToken({ memberId: id, userId: 1 }).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(TokenUnavailableError);
    expect((error as TokenUnavailableError).reason).toBe('refresh_failed');
    expect(JSON.stringify(error)).not.toContain('refresh_token');
  });

  it('records use with touch at most once per throttle interval', async () => {
    // Prepare
    const { store, client, clock } = setup();
    const id = memberId();
    store.put(tokenSet({ memberId: id, userId: 1, accessExpiresAt: clock.now() + 10 * HOUR }));

    // Act
    await client.getAccessToken({ memberId: id, userId: 1 });
    await client.getAccessToken({ memberId: id, userId: 1 });
    clock.advance(16 * MINUTE);
    await client.getAccessToken({ memberId: id, userId: 1 });

    // Assess
    expect(store.touches.map((t) => t.now)).toEqual([clock.now() - 16 * MINUTE, clock.now()]);
  });
});

describe('TokenClient default user', () => {
  it('uses the installing user when no user is named', async () => {
    // Prepare
    const { store, client } = setup();
    const id = memberId();
    store.installations.set(id, installation({ memberId: id, installedBy: 5 }));
    store.put(tokenSet({ memberId: id, userId: 1 }));
    store.put(tokenSet({ memberId: id, userId: 5 }));

    // Act
    const token = await client.getAccessToken({ memberId: id });

    // Assess
    expect(token.userId).toBe(5);
  });

  it('falls back to the usable token set with the lowest user id when the installer cannot be used', async () => {
    // Prepare
    const { store, client } = setup();
    const id = memberId();
    store.installations.set(id, installation({ memberId: id, installedBy: 1 }));
    store.put(tokenSet({ memberId: id, userId: 1, status: 'reauth_required' }));
    store.put(tokenSet({ memberId: id, userId: 9 }));
    store.put(tokenSet({ memberId: id, userId: 4 }));

    // Act
    const token = await client.getAccessToken({ memberId: id });

    // Assess
    expect(token.userId).toBe(4);
  });

  it("answers with the installer's status when no token set is usable", async () => {
    // Prepare
    const { store, client } = setup();
    const id = memberId();
    store.installations.set(id, installation({ memberId: id, installedBy: 3 }));
    store.put(tokenSet({ memberId: id, userId: 2, status: 'reauth_required' }));
    store.put(tokenSet({ memberId: id, userId: 3, status: 'payment_required' }));

    // Act
    const error = await client.getAccessToken({ memberId: id }).catch((e: unknown) => e);

    // Assess
    expect((error as TokenUnavailableError).reason).toBe('payment_required');
  });

  it('answers an uninstalled portal with TokenUnavailableError(uninstalled)', async () => {
    // Prepare
    const { store, client } = setup();
    const id = memberId();
    store.installations.set(id, installation({ memberId: id, status: 'uninstalled' }));

    // Act
    const error = await client.getAccessToken({ memberId: id }).catch((e: unknown) => e);

    // Assess
    expect((error as TokenUnavailableError).reason).toBe('uninstalled');
  });
});

describe('TokenClient.portalMoved', () => {
  it('stores the new address and serves cached tokens with it', async () => {
    // Prepare
    const { store, client, clock } = setup();
    const id = memberId();
    store.put(
      tokenSet({
        memberId: id,
        userId: 1,
        clientEndpoint: 'https://old.bitrix24.com/rest/',
        accessExpiresAt: clock.now() + HOUR,
      }),
    );
    await client.getAccessToken({ memberId: id, userId: 1 });

    // Act
    await client.portalMoved(id, 'https://old.bitrix24.com/rest/', 'https://new.bitrix24.com/rest/');
    const token = await client.getAccessToken({ memberId: id, userId: 1 });

    // Assess
    expect(store.moves).toHaveLength(1);
    expect(token.clientEndpoint).toBe('https://new.bitrix24.com/rest/');
    expect(token.domain).toBe('new.bitrix24.com');
    expect(store.reads).toBe(1);
  });
});
