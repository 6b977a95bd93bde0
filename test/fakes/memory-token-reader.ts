import type { ReadablePortal, TokenReader } from '#shared/consumer/dynamodb-token-reader.js';
import type { ReadableInstallation, ReadableTokenSet } from '#shared/core/domain/access-token.js';
import type { Installation, TokenKey, TokenSet } from '#shared/core/domain/token-set.js';

/**
 * The token table as a consumer reads it, in memory: what `put` stores is read back through the
 * consumer's projection (never a refresh token). Counts reads of each kind.
 */
export class MemoryTokenReader implements TokenReader {
  readonly sets = new Map<string, TokenSet>();
  readonly installations = new Map<string, Installation>();
  /** `readTokenSet` calls. */
  reads = 0;
  /** `readPortal` calls. */
  portalReads = 0;

  put(set: TokenSet): void {
    this.sets.set(`${set.memberId}#${set.userId}`, set);
  }

  async readTokenSet(key: TokenKey): Promise<ReadableTokenSet | undefined> {
    this.reads += 1;
    await Promise.resolve();
    const set = this.sets.get(`${key.memberId}#${key.userId}`);
    return set === undefined ? undefined : readable(set);
  }

  async readPortal(memberId: string): Promise<ReadablePortal> {
    this.portalReads += 1;
    await Promise.resolve();
    const installation = this.installations.get(memberId);
    return {
      installation: installation === undefined ? undefined : readableInstallation(installation),
      tokenSets: [...this.sets.values()].filter((s) => s.memberId === memberId).map(readable),
    };
  }
}

export function readable(set: TokenSet): ReadableTokenSet {
  const { memberId, userId, accessToken, accessExpiresAt, clientEndpoint, domain, status, version } = set;
  return {
    memberId,
    userId,
    accessToken,
    accessExpiresAt,
    clientEndpoint,
    domain,
    status,
    version,
    nextRefreshAt: set.nextRefreshAt,
    lastUsedAt: set.lastUsedAt,
  };
}

function readableInstallation(installation: Installation): ReadableInstallation {
  return { memberId: installation.memberId, status: installation.status, installedBy: installation.installedBy };
}
