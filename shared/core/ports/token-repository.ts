import type { EpochMs } from '#shared/core/domain/time.js';
import type { History } from '#shared/core/domain/token-history.js';
import type {
  FailureRecord,
  Installation,
  IssuedTokens,
  TokenKey,
  TokenSet,
  TokenSource,
  TokenStatus,
} from '#shared/core/domain/token-set.js';

/** A new chain of tokens to store (from a code exchange, an install event or the install page). */
export interface NewChainInput extends IssuedTokens {
  readonly source: TokenSource;
  readonly refreshExpiresAt: EpochMs;
  /** When the sweep should refresh it; absent = not in the due index. */
  readonly nextRefreshAt?: EpochMs | undefined;
  /** When the pair was obtained by a refresh of ours (an install claim is verified by one); else none yet. */
  readonly refreshedAt?: EpochMs | undefined;
  /**
   * Refreshes of the access-token run the chain opens, when its history records one (`withChain`: 1
   * when its pair came from a refresh of ours, else 0). @default none: no run is open
   */
  readonly runRefreshes?: number | undefined;
  readonly now: EpochMs;
}

/** What a successful refresh writes. */
export interface RefreshResultInput {
  /** The lease owner writing it. */
  readonly owner: string;
  /** The refresh token that was spent: the write succeeds only while it is still the stored one (the fence). */
  readonly usedRefreshToken: string;
  readonly issued: IssuedTokens;
  readonly refreshExpiresAt: EpochMs;
  readonly nextRefreshAt?: EpochMs | undefined;
  /** Refreshes of the open access-token run after this one (`runRefreshesAfter` in `token-history.ts`). */
  readonly runRefreshes: number;
  readonly now: EpochMs;
}

export interface RecordFailureInput {
  readonly owner?: string | undefined;
  /** Only records the failure while this refresh token is still the stored one. */
  readonly usedRefreshToken: string;
  readonly failure: FailureRecord;
  readonly status: TokenStatus;
  readonly consecutiveFailures: number;
  readonly nextRefreshAt?: EpochMs | undefined;
  readonly now: EpochMs;
}

export interface LeaseInput {
  readonly owner: string;
  readonly now: EpochMs;
  readonly leaseMs: number;
  /** When given, the lease is taken only at this version. */
  readonly expectedVersion?: number | undefined;
}

export interface HeldLease {
  /** The token set as it is under our lease. */
  readonly tokenSet: TokenSet;
  /** Set when we took over a lease that expired without being released: a refresh was interrupted. */
  readonly tookOver?: { readonly owner: string; readonly leaseUntil: number } | undefined;
  /**
   * The lease was found already ours (our write landed, its answer was lost): whether it took over an
   * interrupted refresh is unknown, so an `invalid_grant` under it must wait the grace period.
   */
  readonly uncertain?: boolean | undefined;
}

/** An installation as a use case writes it; the repository adds `version` and `updatedAt`. */
export type InstallationInput = Omit<Installation, 'version' | 'updatedAt'> & { readonly now: EpochMs };

/** A token set's stored history entries (the last may be the open run, see `withLiveRun`) and their version. */
export interface StoredHistory {
  readonly entries: History;
  readonly version: number;
}

export interface DuePage {
  readonly keys: readonly (TokenKey & { readonly dueAt: EpochMs })[];
  /** Pass back to get the next page; absent on the last page. */
  readonly cursor?: string | undefined;
}

/**
 * Storage of installations and token sets. Every write is conditional; a lost condition raises
 * `TokenConflictError` and changes nothing.
 *
 * @example
 * const lease = await repo.acquireLease({ memberId, userId: 1 }, { owner, now, leaseMs: 30_000 });
 * // … call the authorization server with lease.tokenSet.refreshToken …
 * await repo.completeRefresh({ memberId, userId: 1 }, { owner, usedRefreshToken, issued, refreshExpiresAt, now });
 */
export interface TokenRepository {
  getInstallation(memberId: string): Promise<Installation | undefined>;
  /** Creates (`expectedVersion` null: must not exist) or replaces the installation at that version. */
  saveInstallation(input: InstallationInput, expectedVersion: number | null): Promise<Installation>;
  getTokenSet(key: TokenKey): Promise<TokenSet | undefined>;
  listTokenSets(memberId: string): Promise<TokenSet[]>;
  /**
   * Stores a new chain for (memberId, userId): creates it (`expectedVersion` null) or replaces the
   * stored one at that version, clearing status, failures and lease.
   */
  storeNewChain(input: NewChainInput, expectedVersion: number | null): Promise<TokenSet>;
  /** Takes the refresh lease; throws `LeaseHeldError` while somebody else holds it. */
  acquireLease(key: TokenKey, input: LeaseInput): Promise<HeldLease>;
  /** Writes a refreshed pair (fenced on the spent refresh token) and releases the lease. */
  completeRefresh(key: TokenKey, input: RefreshResultInput): Promise<TokenSet>;
  /**
   * Records a failed refresh (fenced on the refresh token that was tried) and releases the lease. The
   * open access-token run ends with it (`runRefreshes` goes).
   */
  recordFailure(key: TokenKey, input: RecordFailureInput): Promise<TokenSet>;
  /** The token set's history entries as stored in their own item (not brought up to date: `withLiveRun`). */
  readHistory(key: TokenKey): Promise<StoredHistory | undefined>;
  /**
   * Replaces the history entries at `expectedVersion` (null: none stored yet); `TokenConflictError`
   * when another writer was first.
   */
  writeHistory(key: TokenKey, entries: History, expectedVersion: number | null, now: EpochMs): Promise<void>;
  /** Releases our lease if we still hold it; never fails because somebody else took it. */
  releaseLease(key: TokenKey, owner: string): Promise<void>;
  /** Records that a consumer read the token (for the warm-while-used policy), at most every `throttleMs`. */
  touch(key: TokenKey, now: number, throttleMs: number): Promise<void>;
  /** Token sets whose `dueAt` is at or before `dueBefore`, oldest first, one shard at a time. */
  queryDue(shard: number, dueBefore: number, options?: { limit?: number; cursor?: string }): Promise<DuePage>;
  /** Number of due-index shards the sweep must read. */
  readonly dueShards: number;
  /** Deletes every token set of the portal (with their histories and parked pairs); returns how many. */
  deleteTokenSets(memberId: string): Promise<number>;
  /** Removes every item of the portal (installation and token sets); returns how many. */
  deletePortal(memberId: string): Promise<number>;
}
