import type { ConsumerRefreshInput, ConsumerTokenStore, TokenRefresher } from '#shared/consumer/token-client.js';
import { PortalNotFoundError } from '#shared/core/domain/errors.js';
import { HOUR } from '#shared/core/domain/time.js';
import { domainFromEndpoint, type Installation, type TokenKey, type TokenSet } from '#shared/core/domain/token-set.js';
import type { PortalAddressInput } from '#shared/core/ports/portal-address-store.js';
import { token } from '#test/helpers/builders/fixtures.js';

/** A stored token set with sensible defaults. */
export function tokenSet(overrides: Partial<TokenSet> & TokenKey): TokenSet {
  const now = overrides.updatedAt ?? 1_000_000_000_000;
  const clientEndpoint = overrides.clientEndpoint ?? 'https://portal.bitrix24.com/rest/';
  return {
    accessToken: token(),
    refreshToken: token(),
    accessExpiresAt: now + HOUR,
    refreshIssuedAt: now,
    refreshExpiresAt: now + 30 * 24 * HOUR,
    clientEndpoint,
    serverEndpoint: 'https://oauth.bitrix.info/rest/',
    domain: domainFromEndpoint(clientEndpoint),
    status: 'active',
    source: 'install_event',
    version: 1,
    consecutiveFailures: 0,
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
}

export function installation(overrides: Partial<Installation> & { memberId: string }): Installation {
  return {
    domain: 'portal.bitrix24.com',
    clientEndpoint: 'https://portal.bitrix24.com/rest/',
    serverEndpoint: 'https://oauth.bitrix.info/rest/',
    status: 'active',
    installedAt: 0,
    version: 1,
    updatedAt: 0,
    ...overrides,
  };
}

/** The consumer's view of the table, in memory, counting reads and writes. */
export class MemoryStore implements ConsumerTokenStore {
  readonly sets = new Map<string, TokenSet>();
  readonly installations = new Map<string, Installation>();
  reads = 0;
  touches: { key: TokenKey; now: number }[] = [];
  moves: { memberId: string; input: PortalAddressInput }[] = [];

  put(set: TokenSet): void {
    this.sets.set(`${set.memberId}#${set.userId}`, set);
  }

  async getInstallation(memberId: string): Promise<Installation | undefined> {
    return this.installations.get(memberId);
  }

  async getTokenSet(key: TokenKey): Promise<TokenSet | undefined> {
    this.reads += 1;
    await Promise.resolve();
    return this.sets.get(`${key.memberId}#${key.userId}`);
  }

  async listTokenSets(memberId: string): Promise<TokenSet[]> {
    return [...this.sets.values()].filter((s) => s.memberId === memberId);
  }

  async touch(key: TokenKey, now: number): Promise<void> {
    this.touches.push({ key, now });
  }

  async updatePortalAddress(memberId: string, input: PortalAddressInput): Promise<void> {
    this.moves.push({ memberId, input });
    for (const [id, set] of this.sets) {
      if (set.memberId === memberId && set.clientEndpoint === input.previousClientEndpoint) {
        this.sets.set(id, {
          ...set,
          clientEndpoint: input.clientEndpoint,
          domain: domainFromEndpoint(input.clientEndpoint),
        });
      }
    }
  }
}

/**
 * Stands in for the one refresh path: refreshes only while `seenVersion` is current, otherwise
 * returns the stored set. Each real refresh is counted; `gate` lets a test hold refreshes open.
 */
export class FakeRefresher implements TokenRefresher {
  refreshes = 0;
  calls = 0;
  gate: Promise<void> = Promise.resolve();
  failWith: Error | undefined;

  constructor(
    private readonly store: MemoryStore,
    private readonly now: () => number,
  ) {}

  readonly requests: ConsumerRefreshInput[] = [];

  async refresh(key: TokenKey, options: ConsumerRefreshInput): Promise<TokenSet> {
    this.requests.push(options);
    this.calls += 1;
    await this.gate;
    if (this.failWith !== undefined) throw this.failWith;
    const current = this.store.sets.get(`${key.memberId}#${key.userId}`);
    if (current === undefined) throw new PortalNotFoundError(key.memberId, key.userId);
    if (current.version !== options.seenVersion) return current;
    this.refreshes += 1;
    const next: TokenSet = {
      ...current,
      accessToken: token(),
      refreshToken: token(),
      accessExpiresAt: this.now() + HOUR,
      version: current.version + 1,
    };
    this.store.put(next);
    return next;
  }
}
