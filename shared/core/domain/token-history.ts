import type { EpochMs } from '#shared/core/domain/time.js';
import type { TokenSource, TokenStatus } from '#shared/core/domain/token-set.js';

/**
 * A token set's recent history, for the status page's timeline: when chains started, how long access
 * tokens stayed valid, and what failed.
 *
 * Kept small on purpose: consecutive refreshes that leave no gap merge into one entry (a healthy chain
 * is two entries for its whole life), consecutive identical failures merge into one with a count, and
 * at most `HISTORY_LIMIT` entries are kept (the oldest go first). No token, code or secret is in it.
 *
 * Where it is kept: the entries in an item of their own, written only when the timeline changes shape
 * (a new chain, a failure, a refresh after a gap); the open access-token run's running figures (until,
 * refreshes, last refresh) on the token set, which a refresh writes anyway (`LiveRun`). A routine
 * refresh therefore writes nothing but the token set, and the token set stays small enough to cost one
 * write unit (docs/DATA-MODEL.md).
 */

/** Entries kept per token set (about a kilobyte at most; typical sets hold two or three). */
export const HISTORY_LIMIT = 12;

export type HistoryEntry =
  /** A new chain was stored (install event, app opened, authorization); the token set is `active` from here. */
  | { readonly kind: 'chain'; readonly at: EpochMs; readonly source: TokenSource }
  /**
   * Valid access tokens without a gap from `from` to `until`: a chain's first token and the `refreshes`
   * after it, the last one at `lastAt`. A refresh after the previous token expired starts a new entry.
   */
  | {
      readonly kind: 'access';
      readonly from: EpochMs;
      readonly until: EpochMs;
      readonly refreshes: number;
      readonly lastAt?: EpochMs | undefined;
    }
  /** `count` failed refreshes in a row with the same code, first at `from`, last at `to`; `status` after them. */
  | {
      readonly kind: 'failure';
      readonly from: EpochMs;
      readonly to: EpochMs;
      readonly count: number;
      readonly category: string;
      readonly code: string;
      readonly status: TokenStatus;
    };

export type History = readonly HistoryEntry[];

function bounded(history: History): History {
  return history.length <= HISTORY_LIMIT ? history : history.slice(history.length - HISTORY_LIMIT);
}

/**
 * A new chain was stored at `at`; its first access token lives until `accessExpiresAt`. `refreshed`:
 * the pair came from a refresh of ours (an install claim is verified by spending its refresh token).
 *
 * @example
 * const history = withChain(existing?.history, { at: now, source: 'install_event', accessExpiresAt, refreshed: true });
 */
export function withChain(
  history: History | undefined,
  input: {
    readonly at: EpochMs;
    readonly source: TokenSource;
    readonly accessExpiresAt: EpochMs;
    readonly refreshed: boolean;
  },
): History {
  return bounded([
    ...(history ?? []),
    { kind: 'chain', at: input.at, source: input.source },
    {
      kind: 'access',
      from: input.at,
      until: input.accessExpiresAt,
      refreshes: input.refreshed ? 1 : 0,
      ...(input.refreshed ? { lastAt: input.at } : {}),
    },
  ]);
}

/** A refresh at `at` yielded an access token valid until `accessExpiresAt`. */
export function withRefresh(
  history: History | undefined,
  input: { readonly at: EpochMs; readonly accessExpiresAt: EpochMs },
): History {
  const entries = history ?? [];
  const last = entries.at(-1);
  if (last?.kind === 'access' && last.until >= input.at) {
    // No gap: the run goes on.
    return [
      ...entries.slice(0, -1),
      {
        kind: 'access',
        from: last.from,
        until: Math.max(last.until, input.accessExpiresAt),
        refreshes: last.refreshes + 1,
        lastAt: input.at,
      },
    ];
  }
  return bounded([
    ...entries,
    { kind: 'access', from: input.at, until: input.accessExpiresAt, refreshes: 1, lastAt: input.at },
  ]);
}

/** A refresh failed at `at` with `code` (of `category`), leaving the token set in `status`. */
export function withFailure(
  history: History | undefined,
  input: { readonly at: EpochMs; readonly category: string; readonly code: string; readonly status: TokenStatus },
): History {
  const entries = history ?? [];
  const last = entries.at(-1);
  if (
    last?.kind === 'failure' &&
    last.code === input.code &&
    last.category === input.category &&
    last.status === input.status
  ) {
    return [...entries.slice(0, -1), { ...last, to: input.at, count: last.count + 1 }];
  }
  return bounded([
    ...entries,
    {
      kind: 'failure',
      from: input.at,
      to: input.at,
      count: 1,
      category: input.category,
      code: input.code,
      status: input.status,
    },
  ]);
}

/** When the entry happened (its start). */
export function entryStart(entry: HistoryEntry): EpochMs {
  return entry.kind === 'chain' ? entry.at : entry.from;
}

/**
 * What the token set itself says about the open access-token run: the run's until is the token set's
 * `accessExpiresAt`, its last refresh `lastRefreshAt`, its refresh count `runRefreshes`. `runRefreshes`
 * is present exactly while the stored history ends with that open run.
 */
export interface LiveRun {
  readonly runRefreshes?: number | undefined;
  readonly accessExpiresAt: EpochMs;
  readonly lastRefreshAt?: EpochMs | undefined;
}

/**
 * The stored entries with the open access-token run brought up to date from the token set (`LiveRun`):
 * what the timeline shows and what the next change of shape is applied to.
 *
 * @example
 * const history = withLiveRun(stored.entries, tokenSet);
 */
export function withLiveRun(entries: History, live: LiveRun): History {
  const last = entries.at(-1);
  if (live.runRefreshes === undefined || last?.kind !== 'access') return entries;
  const lastAt = live.lastRefreshAt ?? last.lastAt;
  return [
    ...entries.slice(0, -1),
    {
      kind: 'access',
      from: last.from,
      until: Math.max(last.until, live.accessExpiresAt),
      refreshes: live.runRefreshes,
      ...(lastAt === undefined ? {} : { lastAt }),
    },
  ];
}

/**
 * Whether a refresh at `at` only extends the open run (the previous access token was still valid):
 * then `withRefresh` changes nothing but the run's figures, which live on the token set, and the stored
 * entries need no write.
 */
export function extendsOpenRun(live: LiveRun, at: EpochMs): boolean {
  return live.runRefreshes !== undefined && live.accessExpiresAt >= at;
}

/** Refreshes of the open run after a refresh at `at` (`extendsOpenRun`), or 1 for a run it starts. */
export function runRefreshesAfter(live: LiveRun, at: EpochMs): number {
  return extendsOpenRun(live, at) ? (live.runRefreshes ?? 0) + 1 : 1;
}
