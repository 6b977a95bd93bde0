import { describe, expect, it } from 'vitest';
import { hashBrowserBinding, newOpaqueValue } from '#shared/core/domain/authorization-state.js';
import { BitrixOAuthError, TokenConflictError } from '#shared/core/domain/errors.js';
import { HOUR } from '#shared/core/domain/time.js';
import type { History } from '#shared/core/domain/token-history.js';
import type { Installation, IssuedTokens, TokenKey, TokenSet } from '#shared/core/domain/token-set.js';
import type { BitrixOAuthClient } from '#shared/core/ports/oauth-client.js';
import type { OAuthStateRecord, OAuthStateRepository } from '#shared/core/ports/oauth-state-repository.js';
import type { InstallationInput, NewChainInput, StoredHistory } from '#shared/core/ports/token-repository.js';
import {
  type AuthorizationStore,
  type CompleteAuthorizationDeps,
  completeAuthorization,
  defaultNextRefreshAt,
  policyFirstRefreshAt,
} from '#shared/core/use-cases/complete-authorization.js';
import { startAuthorization } from '#shared/core/use-cases/start-authorization.js';
import { issued as issuedTokens, memberId as newMemberId } from '#test/helpers/builders/fixtures.js';

const NOW = 1_800_000_000_000;

class FakeStates implements OAuthStateRepository {
  readonly records = new Map<string, OAuthStateRecord>();
  async put(record: OAuthStateRecord): Promise<void> {
    this.records.set(record.state, record);
  }
  async consume(state: string): Promise<OAuthStateRecord | undefined> {
    const record = this.records.get(state);
    this.records.delete(state);
    return record;
  }
}

/** The slice of the token store the use case needs; `conflicts` makes the next writes lose a race. */
class FakeStore implements AuthorizationStore {
  readonly tokenSets = new Map<string, TokenSet>();
  readonly installations = new Map<string, Installation>();
  conflicts = 0;
  writes = 0;

  async getTokenSet(key: TokenKey) {
    this.reads += 1;
    return this.tokenSets.get(`${key.memberId}#${key.userId}`);
  }
  /** Every read of the store, to prove which outcomes look nothing up. */
  reads = 0;
  async storeNewChain(input: NewChainInput, expectedVersion: number | null): Promise<TokenSet> {
    const current = await this.getTokenSet(input);
    this.loseRaceIfAsked();
    if ((current?.version ?? null) !== expectedVersion) throw new TokenConflictError('token set changed meanwhile');
    this.writes += 1;
    const { now, ...tokens } = input;
    const stored: TokenSet = {
      ...tokens,
      domain: new URL(input.clientEndpoint).host,
      status: 'active',
      version: (expectedVersion ?? 0) + 1,
      consecutiveFailures: 0,
      createdAt: current?.createdAt ?? now,
      updatedAt: now,
    };
    this.tokenSets.set(`${input.memberId}#${input.userId}`, stored);
    return stored;
  }
  readonly histories = new Map<string, StoredHistory>();
  async readHistory(key: TokenKey) {
    return this.histories.get(`${key.memberId}#${key.userId}`);
  }
  async writeHistory(key: TokenKey, entries: History, expectedVersion: number | null) {
    this.histories.set(`${key.memberId}#${key.userId}`, { entries, version: (expectedVersion ?? 0) + 1 });
  }
  async getInstallation(memberId: string) {
    this.reads += 1;
    return this.installations.get(memberId);
  }
  async saveInstallation(input: InstallationInput, expectedVersion: number | null): Promise<Installation> {
    this.loseRaceIfAsked();
    if ((this.installations.get(input.memberId)?.version ?? null) !== expectedVersion) {
      throw new TokenConflictError('installation changed meanwhile');
    }
    this.writes += 1;
    const { now, ...rest } = input;
    const stored: Installation = { ...rest, version: (expectedVersion ?? 0) + 1, updatedAt: now };
    this.installations.set(input.memberId, stored);
    return stored;
  }
  private loseRaceIfAsked() {
    if (this.conflicts > 0) {
      this.conflicts -= 1;
      throw new TokenConflictError('lost a race');
    }
  }
}

class FakeOAuth implements BitrixOAuthClient {
  readonly calls: { authServer: string; code: string }[] = [];
  constructor(private readonly answer: () => IssuedTokens) {}
  async exchangeCode(input: { authServer: string; code: string }): Promise<IssuedTokens> {
    this.calls.push(input);
    return this.answer();
  }
  async refresh(): Promise<IssuedTokens> {
    throw new Error('not used');
  }
}

const clientId = { clientId: async () => 'app.test.1' };

function setup(answer: () => IssuedTokens) {
  const states = new FakeStates();
  const store = new FakeStore();
  const oauth = new FakeOAuth(answer);
  const deps: CompleteAuthorizationDeps = {
    states,
    tokens: store,
    oauth,
    allowedAuthServers: ['oauth.bitrix.info', 'oauth.bitrix24.tech'],
    refreshTokenLifetimeMs: 30 * 24 * HOUR,
    nextRefreshAt: defaultNextRefreshAt,
    now: () => NOW,
  };
  return { states, store, oauth, deps };
}

async function pending(states: FakeStates, portal = 'alpha.bitrix24.com') {
  const binding = newOpaqueValue();
  const state = newOpaqueValue();
  await states.put({
    state,
    portal,
    browserBindingHash: hashBrowserBinding(binding),
    createdAt: NOW,
    expiresAt: NOW + 600_000,
  });
  return { state, binding };
}

describe('startAuthorization', () => {
  const deps = (states: FakeStates, onPremisePortals: readonly string[] = []) => ({
    states,
    clientId,
    onPremisePortals,
    stateTtlMs: 600_000,
    urlRewrites: { '*': 'http://127.0.0.1:9/h/{host}' },
    now: () => NOW,
  });

  it('stores a state with the hash of a new binding and redirects to the rewritten authorize URL', async () => {
    // Prepare
    const states = new FakeStates();

    // Act
    const started = await startAuthorization({ portal: 'Alpha.Bitrix24.com' }, deps(states));

    // Assess
    if (started.kind !== 'redirect') throw new Error(`unexpected ${started.kind}`);
    const url = new URL(started.authorizeUrl);
    expect(`${url.origin}${url.pathname}`).toBe('http://127.0.0.1:9/h/alpha.bitrix24.com/oauth/authorize/');
    expect(url.searchParams.get('client_id')).toBe('app.test.1');
    const state = url.searchParams.get('state') ?? '';
    expect(state).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(states.records.get(state)).toEqual({
      state,
      portal: 'alpha.bitrix24.com',
      browserBindingHash: hashBrowserBinding(started.browserBinding),
      createdAt: NOW,
      expiresAt: NOW + 600_000,
    });
    expect(JSON.stringify([...states.records.values()])).not.toContain(started.browserBinding);
  });

  it('reuses a well-formed binding from the browser and replaces a malformed one', async () => {
    // Prepare
    const states = new FakeStates();
    const existing = newOpaqueValue();

    // Act
    const reused = await startAuthorization({ portal: 'alpha.bitrix24.com', browserBinding: existing }, deps(states));
    const replaced = await startAuthorization({ portal: 'alpha.bitrix24.com', browserBinding: 'x' }, deps(states));

    // Assess
    expect(reused.kind === 'redirect' && reused.browserBinding).toBe(existing);
    expect(replaced.kind === 'redirect' && replaced.browserBinding).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('stores nothing for an address that is not a host name', async () => {
    // Prepare
    const states = new FakeStates();

    // Act
    const started = await startAuthorization({ portal: 'https://evil.example/x' }, deps(states));

    // Assess
    expect(started).toEqual({ kind: 'invalid_portal', message: expect.stringContaining('without http://') });
    expect(states.records.size).toBe(0);
  });

  it.each(['evil.example', 'alpha.bitrix24.com.evil.example', 'a.b.bitrix24.com', 'alpha.bitrix24.site'])(
    'refuses %j (no cloud portal, not allowed) before reading the client id or storing a state',
    async (portal) => {
      // Prepare
      const states = new FakeStates();
      let clientIdReads = 0;
      const counted = {
        ...deps(states),
        clientId: {
          clientId: async () => {
            clientIdReads += 1;
            return clientId.clientId();
          },
        },
      };

      // Act
      const started = await startAuthorization({ portal }, counted);

      // Assess
      expect(started).toEqual({ kind: 'invalid_portal', message: expect.stringContaining('not a Bitrix24 cloud') });
      expect(states.records.size).toBe(0);
      expect(clientIdReads).toBe(0);
    },
  );

  it('sends the browser to an on-premise portal of the allow-list, with its port', async () => {
    // Prepare
    const states = new FakeStates();

    // Act
    const started = await startAuthorization(
      { portal: 'CRM.example.org:8443' },
      deps(states, ['crm.example.org:8443']),
    );
    const otherPort = await startAuthorization({ portal: 'crm.example.org' }, deps(states, ['crm.example.org:8443']));

    // Assess
    expect(started).toMatchObject({ kind: 'redirect', portal: 'crm.example.org:8443' });
    expect(otherPort.kind).toBe('invalid_portal');
    expect(states.records.size).toBe(1);
  });
});

describe('completeAuthorization', () => {
  it('spends the state before looking at the browser binding, so a refused state cannot be retried', async () => {
    // Prepare
    const { states, store, oauth, deps } = setup(() => issuedTokens());
    const { state } = await pending(states);
    const query = { code: 'c', state, memberId: newMemberId(), serverDomain: 'oauth.bitrix.info' };

    // Act
    const first = await completeAuthorization({ ...query, browserBinding: newOpaqueValue() }, deps);
    const second = await completeAuthorization({ ...query, browserBinding: newOpaqueValue() }, deps);

    // Assess
    expect(first).toEqual({ kind: 'browser_mismatch', portal: 'alpha.bitrix24.com' });
    expect(second).toEqual({ kind: 'state_unknown', portal: undefined });
    expect(oauth.calls).toHaveLength(0);
    expect(store.writes).toBe(0);
  });

  it.each([
    ['a state never issued', () => newOpaqueValue()],
    ['a malformed state', () => 'not-a-state'],
  ])(
    'answers %s the same for a connected portal and an unknown member_id, without reading the store',
    async (_label, state) => {
      // Prepare: one portal with working tokens
      const { store, deps } = setup(() => issuedTokens());
      const connected = newMemberId();
      await store.storeNewChain(
        { ...issuedTokens({ memberId: connected }), source: 'oauth_code', refreshExpiresAt: NOW + HOUR, now: NOW },
        null,
      );
      const reads = store.reads;
      const query = { code: 'c', domain: 'alpha.bitrix24.com', serverDomain: 'oauth.bitrix.info' };

      // Act
      const forConnected = await completeAuthorization({ ...query, state: state(), memberId: connected }, deps);
      const forUnknown = await completeAuthorization({ ...query, state: state(), memberId: newMemberId() }, deps);

      // Assess
      expect(forConnected).toEqual({ kind: 'state_unknown', portal: 'alpha.bitrix24.com' });
      expect(forUnknown).toEqual(forConnected);
      expect(store.reads).toBe(reads);
    },
  );

  it('spends the state and reports the refusal when the portal sends an error instead of a code', async () => {
    // Prepare
    const { states, store, oauth, deps } = setup(() => issuedTokens());
    const { state, binding } = await pending(states);

    // Act
    const outcome = await completeAuthorization(
      { state, error: 'access_denied', domain: 'alpha.bitrix24.com', browserBinding: binding },
      deps,
    );

    // Assess
    expect(outcome).toEqual({ kind: 'refused_by_portal', portal: 'alpha.bitrix24.com', error: 'access_denied' });
    expect(states.records.has(state)).toBe(false);
    expect(oauth.calls).toHaveLength(0);
    expect(store.writes).toBe(0);
  });

  it('keeps an error code only when it looks like one', async () => {
    // Prepare
    const { deps } = setup(() => issuedTokens());

    // Act
    const outcome = await completeAuthorization({ error: '<script>alert(1)</script>' }, deps);

    // Assess
    expect(outcome).toEqual({ kind: 'refused_by_portal', portal: undefined, error: 'unknown' });
  });

  it('tells a callback opened without any parameter apart from a used link', async () => {
    // Prepare
    const { deps } = setup(() => issuedTokens());

    // Act
    const bare = await completeAuthorization({}, deps);
    const cookieOnly = await completeAuthorization({ browserBinding: newOpaqueValue() }, deps);

    // Assess
    expect(bare).toEqual({ kind: 'not_a_callback' });
    expect(cookieOnly).toEqual({ kind: 'not_a_callback' });
  });

  it('keeps the state when the query lacks the code (nothing to spend it on)', async () => {
    // Prepare
    const { states, deps } = setup(() => issuedTokens());
    const { state, binding } = await pending(states);

    // Act
    const outcome = await completeAuthorization(
      { state, memberId: newMemberId(), serverDomain: 'oauth.bitrix.info', browserBinding: binding },
      deps,
    );

    // Assess
    expect(outcome.kind).toBe('invalid_request');
    expect(states.records.has(state)).toBe(true);
  });

  it('refuses a state past its expiry even while the record still exists', async () => {
    // Prepare
    const { states, deps } = setup(() => issuedTokens());
    const { state, binding } = await pending(states);

    // Act
    const outcome = await completeAuthorization(
      { code: 'c', state, memberId: newMemberId(), serverDomain: 'oauth.bitrix.info', browserBinding: binding },
      { ...deps, now: () => NOW + 600_000 },
    );

    // Assess
    expect(outcome).toEqual({ kind: 'state_expired', portal: 'alpha.bitrix24.com' });
  });

  it('re-reads and retries when a write loses a race, then stores chain and installation once', async () => {
    // Prepare
    const memberId = newMemberId();
    const tokens = issuedTokens({
      memberId,
      userId: 7,
      refreshIssuedAt: NOW,
      clientEndpoint: 'https://alpha.bitrix24.com/rest/',
    });
    const { states, store, deps } = setup(() => tokens);
    const { state, binding } = await pending(states);
    store.conflicts = 2;

    // Act
    const outcome = await completeAuthorization(
      { code: 'c', state, memberId, serverDomain: 'oauth.bitrix.info', browserBinding: binding },
      deps,
    );

    // Assess
    expect(outcome).toEqual({ kind: 'connected', portal: 'alpha.bitrix24.com', memberId, userId: 7 });
    expect(store.tokenSets.get(`${memberId}#7`)).toMatchObject({
      source: 'oauth_code',
      refreshToken: tokens.refreshToken,
      refreshExpiresAt: NOW + 30 * 24 * HOUR,
      nextRefreshAt: tokens.accessExpiresAt - 600_000,
      version: 1,
    });
    expect(store.installations.get(memberId)).toMatchObject({
      domain: 'alpha.bitrix24.com',
      status: 'active',
      version: 1,
    });
  });

  it('replaces an existing chain and keeps what it does not know about the installation', async () => {
    // Prepare
    const memberId = newMemberId();
    const { states, store, deps } = setup(() =>
      issuedTokens({ memberId, userId: 1, clientEndpoint: 'https://renamed.bitrix24.com/rest/' }),
    );
    await store.storeNewChain(
      { ...issuedTokens({ memberId, userId: 1 }), source: 'install_event', refreshExpiresAt: 1, now: 1 },
      null,
    );
    await store.saveInstallation(
      {
        memberId,
        domain: 'old.bitrix24.com',
        clientEndpoint: 'https://old.bitrix24.com/rest/',
        serverEndpoint: 'https://oauth.bitrix.info/rest/',
        status: 'active',
        applicationTokenHash: 'abc',
        appVersion: '3',
        installedBy: 1,
        installedAt: 5,
        now: 5,
      },
      null,
    );
    const { state, binding } = await pending(states);

    // Act
    const outcome = await completeAuthorization(
      { code: 'c', state, memberId, serverDomain: 'oauth.bitrix.info', browserBinding: binding },
      deps,
    );

    // Assess
    expect(outcome.kind).toBe('connected');
    expect(store.tokenSets.get(`${memberId}#1`)).toMatchObject({ version: 2, source: 'oauth_code' });
    expect(store.installations.get(memberId)).toMatchObject({
      domain: 'renamed.bitrix24.com',
      clientEndpoint: 'https://renamed.bitrix24.com/rest/',
      applicationTokenHash: 'abc',
      appVersion: '3',
      installedAt: 5,
      version: 2,
    });
  });

  it.each([
    ['expired_token', 400, 'code_expired'],
    ['invalid_grant', 400, 'code_expired'],
    ['invalid_client', 401, 'denied'],
    ['PAYMENT_REQUIRED', 402, 'denied'],
    ['timeout', 0, 'server_failed'],
    ['http_503', 503, 'server_failed'],
  ])('turns the server error %s into %s, storing nothing', async (error, status, kind) => {
    // Prepare
    const { states, store, deps } = setup(() => {
      throw new BitrixOAuthError(error, 'x', Number(status));
    });
    const { state, binding } = await pending(states);

    // Act
    const outcome = await completeAuthorization(
      { code: 'c', state, memberId: newMemberId(), serverDomain: 'oauth.bitrix.info', browserBinding: binding },
      deps,
    );

    // Assess
    expect(outcome.kind).toBe(kind);
    expect(store.writes).toBe(0);
  });
});

describe('policyFirstRefreshAt', () => {
  const policy = {
    mode: 'always_warm' as const,
    accessLeadMs: 15 * 60_000,
    accessJitterMs: 5 * 60_000,
    refreshLeadMs: 7 * 24 * HOUR,
    refreshJitterMs: 24 * HOUR,
    warmWindowMs: 24 * HOUR,
  };

  it('schedules a new chain by the refresh policy: before the access token ends when kept warm', () => {
    // Prepare
    const tokens = issuedTokens({ refreshIssuedAt: NOW, accessExpiresAt: NOW + HOUR });

    // Act
    const warm = policyFirstRefreshAt(
      policy,
      30 * 24 * HOUR,
      () => NOW,
      () => 1,
    )(tokens);
    const keepAlive = policyFirstRefreshAt(
      { ...policy, mode: 'keep_alive' },
      30 * 24 * HOUR,
      () => NOW,
      () => 0,
    )(tokens);

    // Assess
    expect(warm).toBe(NOW + HOUR - 20 * 60_000);
    expect(keepAlive).toBe(NOW + 23 * 24 * HOUR);
  });
});
