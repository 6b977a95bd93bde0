import { describe, expect, it } from 'vitest';
import { TokenClient } from '#shared/consumer/token-client.js';
import { toAccessToken } from '#shared/core/domain/access-token.js';
import { PortalNotFoundError, TokenUnavailableError, ValidationError } from '#shared/core/domain/errors.js';
import { HOUR, MINUTE } from '#shared/core/domain/time.js';
import { MemoryTokenReader } from '#test/fakes/memory-token-reader.js';
import { MemoryVendor } from '#test/fakes/memory-vendor.js';
import { memberId } from '#test/helpers/builders/fixtures.js';
import { installation, tokenSet } from '#test/helpers/builders/token-sets.js';

function setup(options: { now?: number } = {}) {
  let now = options.now ?? 1_000_000_000_000;
  const clock = { now: () => now, advance: (ms: number) => (now += ms) };
  const store = new MemoryTokenReader();
  const vendor = new MemoryVendor(store, clock.now);
  const client = new TokenClient({
    reader: store,
    vendor,
    now: clock.now,
    refreshMarginMs: 5 * MINUTE,
    cacheMaxAgeMs: 5 * MINUTE,
  });
  return { clock, store, vendor, client };
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
    const { store, client, clock, vendor } = setup();
    const id = memberId();
    store.put(tokenSet({ memberId: id, userId: 1, accessExpiresAt: clock.now() + 7 * MINUTE }));
    await client.getAccessToken({ memberId: id, userId: 1 });

    // Act
    clock.advance(2 * MINUTE + 1);
    const token = await client.getAccessToken({ memberId: id, userId: 1 });

    // Assess
    expect(store.reads).toBe(2);
    expect(vendor.refreshes).toBe(1);
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

  it('asks the vendor when the token is within the margin', async () => {
    // Prepare
    const { store, client, clock, vendor } = setup();
    const id = memberId();
    const stored = tokenSet({ memberId: id, userId: 1, accessExpiresAt: clock.now() + 4 * MINUTE });
    store.put(stored);

    // Act
    const token = await client.getAccessToken({ memberId: id, userId: 1 });

    // Assess
    expect(vendor.refreshes).toBe(1);
    expect(vendor.requests).toEqual([{ memberId: id, userId: 1, minValidityMs: 5 * MINUTE, staleVersion: undefined }]);
    expect(token.accessToken).not.toBe(stored.accessToken);
    expect(token.expiresAt).toBe(clock.now() + HOUR);
  });

  it('collapses 100 concurrent readers of an expired token into one read and one vendor call', async () => {
    // Prepare
    const { store, client, clock, vendor } = setup();
    const id = memberId();
    store.put(tokenSet({ memberId: id, userId: 1, accessExpiresAt: clock.now() - 1 }));
    let open = (): void => undefined;
    vendor.gate = new Promise((resolve) => {
      open = resolve;
    });

    // Act
    const pending = Array.from({ length: 100 }, () => client.getAccessToken({ memberId: id, userId: 1 }));
    await new Promise((resolve) => setTimeout(resolve, 5));
    open();
    const tokens = await Promise.all(pending);

    // Assess
    expect(store.reads).toBe(1);
    expect(vendor.calls).toBe(1);
    expect(new Set(tokens.map((t) => t.accessToken)).size).toBe(1);
  });

  it('asks the vendor on a stale report of the current version, naming it', async () => {
    // Prepare
    const { store, client, clock, vendor } = setup();
    const id = memberId();
    store.put(tokenSet({ memberId: id, userId: 1, accessExpiresAt: clock.now() + HOUR, version: 4 }));
    const before = await client.getAccessToken({ memberId: id, userId: 1 });

    // Act
    const after = await client.getAccessToken({ memberId: id, userId: 1, staleVersion: before.version });

    // Assess
    expect(vendor.refreshes).toBe(1);
    expect(vendor.requests).toEqual([{ memberId: id, userId: 1, minValidityMs: 5 * MINUTE, staleVersion: 4 }]);
    expect(after.version).toBe(5);
    expect(after.accessToken).not.toBe(before.accessToken);
  });

  it('returns the newer token without refreshing on a stale report of an old version', async () => {
    // Prepare
    const { store, client, clock, vendor } = setup();
    const id = memberId();
    store.put(tokenSet({ memberId: id, userId: 1, accessExpiresAt: clock.now() + HOUR, version: 7 }));

    // Act
    const token = await client.getAccessToken({ memberId: id, userId: 1, staleVersion: 6 });

    // Assess
    expect(vendor.calls).toBe(0);
    expect(token.version).toBe(7);
  });

  it('drops a cached token a consumer reports stale and reads the newer one another process stored', async () => {
    // Prepare
    const { store, client, clock, vendor } = setup();
    const id = memberId();
    const first = tokenSet({ memberId: id, userId: 1, accessExpiresAt: clock.now() + HOUR, version: 2 });
    store.put(first);
    await client.getAccessToken({ memberId: id, userId: 1 });
    const second = { ...first, accessToken: 'newer', version: 3 };
    store.put(second);

    // Act
    const token = await client.getAccessToken({ memberId: id, userId: 1, staleVersion: 2 });

    // Assess
    expect(vendor.calls).toBe(0);
    expect(token.accessToken).toBe('newer');
  });

  it('lets 50 concurrent stale reports of one version cause one refresh', async () => {
    // Prepare
    const { store, client, clock, vendor } = setup();
    const id = memberId();
    store.put(tokenSet({ memberId: id, userId: 1, accessExpiresAt: clock.now() + HOUR, version: 1 }));
    await client.getAccessToken({ memberId: id, userId: 1 });

    // Act
    const tokens = await Promise.all(
      Array.from({ length: 50 }, () => client.getAccessToken({ memberId: id, userId: 1, staleVersion: 1 })),
    );

    // Assess
    expect(vendor.refreshes).toBe(1);
    expect(new Set(tokens.map((t) => t.version))).toEqual(new Set([2]));
  });

  it('makes a stale reporter wait for a plain read in flight and refresh only if that read was not newer', async () => {
    // Prepare
    const { store, client, clock, vendor } = setup();
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
    expect(vendor.refreshes).toBe(1);
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

  it('keeps a token the vendor handed out without renewing it (valid, within the margin) for the cool-down only', async () => {
    // Prepare
    const { store, clock } = setup();
    const id = memberId();
    const stored = tokenSet({ memberId: id, userId: 1, accessExpiresAt: clock.now() + 4 * MINUTE });
    store.put(stored);
    let calls = 0;
    const client = new TokenClient({
      reader: store,
      // What the vendor answers when its refresh failed and the stored token still works.
      vendor: {
        getAccessToken: async () => {
          calls += 1;
          return toAccessToken(stored);
        },
        recordUse: async () => undefined,
        portalMoved: async () => undefined,
      },
      now: clock.now,
      refreshMarginMs: 5 * MINUTE,
      refreshFailureCooldownMs: 30_000,
    });

    // Act
    const first = await client.getAccessToken({ memberId: id, userId: 1 });
    await client.getAccessToken({ memberId: id, userId: 1 });
    const callsInCooldown = calls;
    clock.advance(30_001);
    await client.getAccessToken({ memberId: id, userId: 1 });

    // Assess
    expect(first.accessToken).toBe(stored.accessToken);
    expect(callsInCooldown).toBe(1);
    expect(calls).toBe(2);
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

  it('keeps handing out a still-valid token when the vendor cannot renew it, then asks again', async () => {
    // Prepare
    const { store, client, clock, vendor } = setup();
    const id = memberId();
    const stored = tokenSet({ memberId: id, userId: 1, accessExpiresAt: clock.now() + 3 * MINUTE });
    store.put(stored);
    vendor.failWith = new TokenUnavailableError('refresh_failed', id, 1, { details: { vendorError: 'unreachable' } });

    // Act
    const during = await client.getAccessToken({ memberId: id, userId: 1 });
    await client.getAccessToken({ memberId: id, userId: 1 });
    const callsInCooldown = vendor.calls;
    clock.advance(31_000);
    vendor.failWith = undefined;
    const after = await client.getAccessToken({ memberId: id, userId: 1 });

    // Assess
    expect(during.accessToken).toBe(stored.accessToken);
    expect(callsInCooldown).toBe(1);
    expect(after.version).toBe(2);
  });

  it('answers refresh_failed when the token expired and the vendor cannot renew it', async () => {
    // Prepare
    const { store, client, clock, vendor } = setup();
    const id = memberId();
    store.put(tokenSet({ memberId: id, userId: 1, accessExpiresAt: clock.now() - 1 }));
    vendor.failWith = new TokenUnavailableError('refresh_failed', id, 1, { details: { vendorError: 'unreachable' } });

    // Act
    const error = await client.getAccessToken({ memberId: id, userId: 1 }).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(TokenUnavailableError);
    expect((error as TokenUnavailableError).reason).toBe('refresh_failed');
    expect(JSON.stringify(error)).not.toContain('refresh_token');
  });

  it('records use through the vendor at most once per throttle interval', async () => {
    // Prepare
    const { store, client, clock, vendor } = setup();
    const id = memberId();
    store.put(tokenSet({ memberId: id, userId: 1, accessExpiresAt: clock.now() + 10 * HOUR }));

    // Act
    await client.getAccessToken({ memberId: id, userId: 1 });
    await client.getAccessToken({ memberId: id, userId: 1 });
    clock.advance(16 * MINUTE);
    await client.getAccessToken({ memberId: id, userId: 1 });

    // Assess
    expect(vendor.uses).toEqual([
      { memberId: id, userId: 1 },
      { memberId: id, userId: 1 },
    ]);
  });
});

describe('TokenClient records of use', () => {
  it('records no use a new process finds recorded by another one within the throttle interval', async () => {
    // Prepare
    const { store, client, clock, vendor } = setup();
    const id = memberId();
    store.put(
      tokenSet({ memberId: id, userId: 1, accessExpiresAt: clock.now() + HOUR, lastUsedAt: clock.now() - MINUTE }),
    );

    // Act
    await client.getAccessToken({ memberId: id, userId: 1 });
    clock.advance(15 * MINUTE);
    client.clear();
    await client.getAccessToken({ memberId: id, userId: 1 });

    // Assess: the second read comes after the other process's record is 16 minutes old
    expect(vendor.uses).toEqual([{ memberId: id, userId: 1 }]);
  });
});

describe('TokenClient default user', () => {
  it('looks the default user up once for 100 concurrent readers of an expired token: one read, one vendor call', async () => {
    // Prepare
    const { store, client, clock, vendor } = setup();
    const id = memberId();
    store.installations.set(id, installation({ memberId: id, installedBy: 1 }));
    store.put(tokenSet({ memberId: id, userId: 1, accessExpiresAt: clock.now() - 1 }));
    store.put(tokenSet({ memberId: id, userId: 2, accessExpiresAt: clock.now() + HOUR }));

    // Act
    const tokens = await Promise.all(Array.from({ length: 100 }, () => client.getAccessToken({ memberId: id })));

    // Assess
    expect(store.portalReads).toBe(1);
    expect(store.reads).toBe(0);
    expect(vendor.calls).toBe(1);
    expect(vendor.uses).toEqual([]);
    expect(new Set(tokens.map((t) => `${t.userId}:${t.version}`))).toEqual(new Set(['1:2']));
  });

  it('asks the vendor once when 100 concurrent readers name a portal with nothing readable, and gives all its answer', async () => {
    // Prepare
    const { store, client, vendor } = setup();
    const id = memberId();

    // Act
    const errors = await Promise.all(
      Array.from({ length: 100 }, () => client.getAccessToken({ memberId: id }).catch((e: unknown) => e)),
    );

    // Assess
    expect(store.portalReads).toBe(1);
    expect(vendor.calls).toBe(1);
    expect(errors.every((error) => error instanceof PortalNotFoundError)).toBe(true);
  });

  it('keeps the default user for the cache life: the next readers read only their token set', async () => {
    // Prepare
    const { store, client, clock } = setup();
    const id = memberId();
    store.installations.set(id, installation({ memberId: id, installedBy: 1 }));
    store.put(tokenSet({ memberId: id, userId: 1, accessExpiresAt: clock.now() + 10 * HOUR }));
    await client.getAccessToken({ memberId: id });

    // Act
    clock.advance(4 * MINUTE);
    client.clear();
    await client.getAccessToken({ memberId: id, userId: 1 });

    // Assess
    expect(store.portalReads).toBe(1);
    expect(store.reads).toBe(1);
  });

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
  it('reports the new address to the vendor and serves cached tokens with it', async () => {
    // Prepare
    const { store, client, clock, vendor } = setup();
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
    expect(vendor.moves).toEqual([
      { memberId: id, from: 'https://old.bitrix24.com/rest/', to: 'https://new.bitrix24.com/rest/' },
    ]);
    expect(token.clientEndpoint).toBe('https://new.bitrix24.com/rest/');
    expect(token.domain).toBe('new.bitrix24.com');
    expect(store.reads).toBe(1);
  });
});
