import { dueShardOf } from '#shared/core/domain/due-shard.js';
import { LeaseHeldError, PortalNotFoundError, TokenConflictError } from '#shared/core/domain/errors.js';
import type { History } from '#shared/core/domain/token-history.js';
import {
  domainFromEndpoint,
  REFRESHABLE_STATUSES,
  type TokenKey,
  type TokenSet,
} from '#shared/core/domain/token-set.js';
import type {
  DuePage,
  HeldLease,
  LeaseInput,
  RecordFailureInput,
  RefreshResultInput,
  StoredHistory,
} from '#shared/core/ports/token-repository.js';
import type { RefreshRepository } from '#shared/core/use-cases/refresh-token-set.js';

const id = (key: TokenKey) => `${key.memberId}#${key.userId}`;

/**
 * The refresh path's view of the token table, in memory, with the same conditions as the DynamoDB
 * adapter (lease free or expired + version; fence on the spent refresh token). `failWrites` makes the
 * next `completeRefresh` calls throw a non-conflict error (an unwritable store).
 */
export class MemoryTokenRepository implements RefreshRepository {
  readonly dueShards = 2;
  readonly sets = new Map<string, TokenSet>();
  readonly histories = new Map<string, StoredHistory>();
  failWrites = 0;
  /** Runs before each `completeRefresh` (to interleave another worker). */
  beforeComplete: (() => Promise<void>) | undefined;
  /** Runs once before the next `acquireLease` (to interleave another worker between read and lease). */
  beforeLease: (() => Promise<void>) | undefined;

  put(set: TokenSet): void {
    this.sets.set(id(set), set);
  }

  get(key: TokenKey): TokenSet {
    const set = this.sets.get(id(key));
    if (set === undefined) throw new PortalNotFoundError(key.memberId, key.userId);
    return set;
  }

  async getTokenSet(key: TokenKey): Promise<TokenSet | undefined> {
    return this.sets.get(id(key));
  }

  async acquireLease(key: TokenKey, input: LeaseInput): Promise<HeldLease> {
    const hook = this.beforeLease;
    this.beforeLease = undefined;
    await hook?.();
    const before = this.get(key);
    if (before.leaseUntil !== undefined && before.leaseUntil > input.now) {
      throw new LeaseHeldError(key.memberId, key.userId, before.leaseUntil);
    }
    if (input.expectedVersion !== undefined && before.version !== input.expectedVersion) {
      throw new TokenConflictError('token set changed since it was read');
    }
    const tokenSet: TokenSet = { ...before, leaseOwner: input.owner, leaseUntil: input.now + input.leaseMs };
    this.put(tokenSet);
    const tookOver =
      before.leaseOwner !== undefined && before.leaseUntil !== undefined && before.leaseOwner !== input.owner
        ? { owner: before.leaseOwner, leaseUntil: before.leaseUntil }
        : undefined;
    return { tokenSet, tookOver };
  }

  async completeRefresh(key: TokenKey, input: RefreshResultInput): Promise<TokenSet> {
    await this.beforeComplete?.();
    if (this.failWrites > 0) {
      this.failWrites -= 1;
      throw new Error('ProvisionedThroughputExceededException');
    }
    const before = this.get(key);
    if (before.refreshToken !== input.usedRefreshToken)
      throw new TokenConflictError('tokens were replaced while refreshing');
    const { issued } = input;
    const after: TokenSet = {
      ...before,
      accessToken: issued.accessToken,
      refreshToken: issued.refreshToken,
      accessExpiresAt: issued.accessExpiresAt,
      refreshIssuedAt: issued.refreshIssuedAt,
      refreshExpiresAt: input.refreshExpiresAt,
      clientEndpoint: issued.clientEndpoint,
      serverEndpoint: issued.serverEndpoint,
      domain: domainFromEndpoint(issued.clientEndpoint),
      scope: issued.scope !== undefined && issued.scope !== 'app' ? issued.scope : before.scope,
      status: 'active',
      source: 'refresh',
      consecutiveFailures: 0,
      lastFailure: undefined,
      lastRefreshAt: input.now,
      leaseOwner: undefined,
      leaseUntil: undefined,
      nextRefreshAt: input.nextRefreshAt,
      runRefreshes: input.runRefreshes,
      history: undefined,
      version: before.version + 1,
      updatedAt: input.now,
    };
    this.put(after);
    return after;
  }

  async readHistory(key: TokenKey): Promise<StoredHistory | undefined> {
    return this.histories.get(id(key));
  }

  async writeHistory(key: TokenKey, entries: History, expectedVersion: number | null): Promise<void> {
    if ((this.histories.get(id(key))?.version ?? null) !== expectedVersion) {
      throw new TokenConflictError('history changed meanwhile');
    }
    this.histories.set(id(key), { entries, version: (expectedVersion ?? 0) + 1 });
  }

  async recordFailure(key: TokenKey, input: RecordFailureInput): Promise<TokenSet> {
    const before = this.get(key);
    const leaseOk = input.owner === undefined || before.leaseOwner === undefined || before.leaseOwner === input.owner;
    if (before.refreshToken !== input.usedRefreshToken || !leaseOk) {
      throw new TokenConflictError('tokens were replaced while refreshing');
    }
    const after: TokenSet = {
      ...before,
      status: input.status,
      lastFailure: input.failure,
      consecutiveFailures: input.consecutiveFailures,
      nextRefreshAt: REFRESHABLE_STATUSES.has(input.status) ? input.nextRefreshAt : undefined,
      leaseOwner: input.owner === undefined ? before.leaseOwner : undefined,
      leaseUntil: input.owner === undefined ? before.leaseUntil : undefined,
      runRefreshes: undefined,
      history: undefined,
      version: before.version + 1,
      updatedAt: input.now,
    };
    this.put(after);
    return after;
  }

  async releaseLease(key: TokenKey, owner: string): Promise<void> {
    const before = this.sets.get(id(key));
    if (before?.leaseOwner === owner) this.put({ ...before, leaseOwner: undefined, leaseUntil: undefined });
  }

  async queryDue(shard: number, dueBefore: number): Promise<DuePage> {
    const keys = [...this.sets.values()]
      .filter(
        (s) => s.nextRefreshAt !== undefined && s.nextRefreshAt <= dueBefore && dueShardOf(s, this.dueShards) === shard,
      )
      .map((s) => ({ memberId: s.memberId, userId: s.userId, dueAt: s.nextRefreshAt ?? 0 }))
      .sort((a, b) => a.dueAt - b.dueAt);
    return { keys };
  }
}
