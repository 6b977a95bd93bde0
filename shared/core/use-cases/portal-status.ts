import { PortalNotFoundError } from '#shared/core/domain/errors.js';
import { DAY, type EpochMs, HOUR, MINUTE } from '#shared/core/domain/time.js';
import { type History, withLiveRun } from '#shared/core/domain/token-history.js';
import type {
  FailureRecord,
  Installation,
  InstallationStatus,
  TokenSet,
  TokenSource,
  TokenStatus,
} from '#shared/core/domain/token-set.js';
import type { HistorySummary, PortalListing, TokenSummary } from '#shared/core/ports/portal-listing.js';
import type { TokenRepository } from '#shared/core/ports/token-repository.js';

/**
 * What an operator sees per row: a token set's status, or for a portal without token sets
 * `uninstalled` (the app was removed) or `no_tokens` (installed, but no chain arrived or it was revoked).
 */
export type PortalRowStatus = TokenStatus | 'no_tokens';

/** Every row status, most urgent first: the order of the page's counters and of its rows. */
export const ROW_STATUSES: readonly PortalRowStatus[] = [
  'reauth_required',
  'invalid_client',
  'payment_required',
  'degraded',
  'no_tokens',
  'active',
  'uninstalled',
  'portal_deleted',
];

/** One token set (or one portal without any), as the status page and the CLI show it. No tokens. */
export interface PortalStatusRow {
  readonly memberId: string;
  readonly domain: string;
  /** Bitrix24 user of the token set; absent for a portal without token sets. */
  readonly userId?: number | undefined;
  readonly status: PortalRowStatus;
  readonly installationStatus?: InstallationStatus | undefined;
  readonly source?: TokenSource | undefined;
  readonly accessExpiresAt?: EpochMs | undefined;
  readonly refreshIssuedAt?: EpochMs | undefined;
  readonly refreshExpiresAt?: EpochMs | undefined;
  /** When the sweep looks at it next (absent: not in the due index). */
  readonly nextRefreshAt?: EpochMs | undefined;
  readonly lastRefreshAt?: EpochMs | undefined;
  readonly lastUsedAt?: EpochMs | undefined;
  readonly lastFailure?: FailureRecord | undefined;
  readonly consecutiveFailures: number;
  readonly leaseUntil?: number | undefined;
  /** Recent chains, access-token runs and failures (see `token-history.ts`); none for old items. */
  readonly history?: History | undefined;
}

export interface PortalStatusReport {
  /** the report was taken at; durations on it are relative to this. */
  readonly generatedAt: EpochMs;
  /** Rows per status over the whole table (filters do not change them). */
  readonly counts: Readonly<Record<PortalRowStatus, number>>;
  /** Distinct portals in the table. */
  readonly portals: number;
  /** Rows that pass the filter, most urgent first, then by domain and user. */
  readonly rows: readonly PortalStatusRow[];
}

/** Progress of a long listing, after each page. */
export interface ListingProgress {
  readonly pages: number;
  readonly scanned: number;
  readonly portals: number;
}

export interface PortalStatusDeps {
  readonly listing: PortalListing;
  readonly now: () => EpochMs;
}

export interface PortalStatusOptions {
  /** Only rows with one of these statuses. @default every status */
  readonly statuses?: readonly PortalRowStatus[] | undefined;
  /** Items per page read. @default the adapter's */
  readonly pageSize?: number | undefined;
  /** Called after each page (a counter for long runs). */
  readonly onProgress?: ((progress: ListingProgress) => void) | undefined;
}

/**
 * Lists every portal and token set with its health, reading the table page by page through the
 * token-free listing (never a token, see `PortalListing`).
 *
 * @example
 * const report = await collectPortalStatus({ listing: repository, now: Date.now }, { statuses: ['reauth_required'] });
 * for (const row of report.rows) console.log(row.domain, describeRow(row, report.generatedAt).refreshAge);
 */
export async function collectPortalStatus(
  deps: PortalStatusDeps,
  options: PortalStatusOptions = {},
): Promise<PortalStatusReport> {
  const installations: Installation[] = [];
  const tokenSets: TokenSummary[] = [];
  const histories: HistorySummary[] = [];
  const memberIds = new Set<string>();
  let cursor: string | undefined;
  let pages = 0;
  let scanned = 0;
  do {
    const page = await deps.listing.listPortalSummaries({
      cursor,
      ...(options.pageSize === undefined ? {} : { limit: options.pageSize }),
    });
    installations.push(...page.installations);
    tokenSets.push(...page.tokenSets);
    histories.push(...page.histories);
    for (const item of [...page.installations, ...page.tokenSets]) memberIds.add(item.memberId);
    pages += 1;
    scanned += page.scanned;
    options.onProgress?.({ pages, scanned, portals: memberIds.size });
    cursor = page.cursor;
  } while (cursor !== undefined);

  const rows = toRows(installations, tokenSets, histories);
  const counts = Object.fromEntries(ROW_STATUSES.map((status) => [status, 0])) as Record<PortalRowStatus, number>;
  for (const row of rows) counts[row.status] += 1;
  const wanted = options.statuses === undefined ? undefined : new Set(options.statuses);
  return {
    generatedAt: deps.now(),
    counts,
    portals: memberIds.size,
    rows: wanted === undefined ? rows : rows.filter((row) => wanted.has(row.status)),
  };
}

/** One portal in detail: its installation and token sets, without tokens. */
export interface PortalDetail {
  readonly memberId: string;
  readonly installation?: Omit<Installation, 'applicationTokenHash'> | undefined;
  readonly rows: readonly PortalStatusRow[];
}

/**
 * Reads one portal (consistent reads) for `show`; throws `PortalNotFoundError` when the table knows
 * nothing of it.
 *
 * @example
 * const detail = await describePortal('a223c6b3710f85df22e9377d6c4f7553', { tokens: repository });
 */
export async function describePortal(
  memberId: string,
  deps: { readonly tokens: TokenRepository },
): Promise<PortalDetail> {
  const [installation, tokenSets] = await Promise.all([
    deps.tokens.getInstallation(memberId),
    deps.tokens.listTokenSets(memberId),
  ]);
  if (installation === undefined && tokenSets.length === 0) throw new PortalNotFoundError(memberId);
  const summaries = tokenSets.map(summarizeTokenSet);
  const histories: HistorySummary[] = [];
  for (const tokenSet of tokenSets) {
    const stored = await deps.tokens.readHistory(tokenSet);
    if (stored !== undefined) histories.push({ memberId, userId: tokenSet.userId, entries: stored.entries });
  }
  let shown: PortalDetail['installation'];
  if (installation !== undefined) {
    // The hash proves nothing to an operator and is one more thing to leak: left out.
    const { applicationTokenHash: _hash, ...rest } = installation;
    shown = rest;
  }
  return {
    memberId,
    installation: shown,
    rows: toRows(installation === undefined ? [] : [installation], summaries, histories),
  };
}

/** Drops the tokens of a token set. */
export function summarizeTokenSet(tokenSet: TokenSet): TokenSummary {
  const { accessToken: _access, refreshToken: _refresh, ...summary } = tokenSet;
  return summary;
}

/**
 * Joins installations, token sets and their histories into rows: one per token set, one per portal
 * without any.
 */
export function toRows(
  installations: readonly Installation[],
  tokenSets: readonly TokenSummary[],
  histories: readonly HistorySummary[] = [],
): PortalStatusRow[] {
  const byMember = new Map(installations.map((installation) => [installation.memberId, installation]));
  const historyOf = new Map(histories.map((h) => [`${h.memberId}#${h.userId}`, h.entries]));
  const withTokens = new Set<string>();
  const rows: PortalStatusRow[] = tokenSets.map((t) => {
    withTokens.add(t.memberId);
    const installation = byMember.get(t.memberId);
    return {
      memberId: t.memberId,
      // The installation follows renames first (events); the token set's copy may lag.
      domain: installation?.domain ?? t.domain,
      userId: t.userId,
      status: t.status,
      installationStatus: installation?.status,
      source: t.source,
      accessExpiresAt: t.accessExpiresAt,
      refreshIssuedAt: t.refreshIssuedAt,
      refreshExpiresAt: t.refreshExpiresAt,
      nextRefreshAt: t.nextRefreshAt,
      lastRefreshAt: t.lastRefreshAt,
      lastUsedAt: t.lastUsedAt,
      lastFailure: t.lastFailure,
      consecutiveFailures: t.consecutiveFailures,
      leaseUntil: t.leaseUntil,
      history: timeline(historyOf.get(`${t.memberId}#${t.userId}`) ?? t.history, t),
    };
  });
  for (const installation of installations) {
    if (withTokens.has(installation.memberId)) continue;
    rows.push({
      memberId: installation.memberId,
      domain: installation.domain,
      status: installation.status === 'uninstalled' ? 'uninstalled' : 'no_tokens',
      installationStatus: installation.status,
      consecutiveFailures: 0,
    });
  }
  const rank = (status: PortalRowStatus) => ROW_STATUSES.indexOf(status);
  return rows.sort(
    (a, b) =>
      rank(a.status) - rank(b.status) ||
      a.domain.localeCompare(b.domain) ||
      a.memberId.localeCompare(b.memberId) ||
      (a.userId ?? 0) - (b.userId ?? 0),
  );
}

/** The stored entries brought up to date with the token set's open run; none when none are stored. */
function timeline(entries: History | undefined, tokenSet: TokenSummary): History | undefined {
  return entries === undefined ? undefined : withLiveRun(entries, tokenSet);
}

/** A row's times as short phrases, relative to `now`. */
export interface RowDescription {
  /** `in 58 min`, `expired 3 min ago`, or `—`. */
  readonly accessExpiresIn: string;
  /** Refresh-token age against its window: `12 d of 30 d`. */
  readonly refreshAge: string;
  /** Share of the refresh window used, 0…1 (absent without a token set). */
  readonly refreshWindowUsed?: number | undefined;
  /** `3 h ago`, `never` (a chain not refreshed yet), or `—` (no token set). */
  readonly lastRefresh: string;
  /** `transient: authorization server answered 503 (5 min ago)` or `—`. */
  readonly lastFailure: string;
  /** `in 40 min`, `now`, or `—` (not in the due index). */
  readonly nextRefresh: string;
}

/** `45 s`, `12 min`, `5 h 3 min`, `12 d` (rounded down; sign ignored). */
export function formatDuration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs < MINUTE) return `${Math.floor(abs / 1000)} s`;
  if (abs < HOUR) return `${Math.floor(abs / MINUTE)} min`;
  if (abs < DAY) {
    const minutes = Math.floor((abs % HOUR) / MINUTE);
    return `${Math.floor(abs / HOUR)} h${minutes > 0 ? ` ${minutes} min` : ''}`;
  }
  return `${Math.floor(abs / DAY)} d`;
}

/** `in 5 min` for a future instant, `3 h ago` for a past one. */
export function formatRelative(at: number, now: number): string {
  return at > now ? `in ${formatDuration(at - now)}` : `${formatDuration(now - at)} ago`;
}

/** Describes a row's times for people (the CLI table and the status page use the same words). */
export function describeRow(row: PortalStatusRow, now: number): RowDescription {
  const accessExpiresIn =
    row.accessExpiresAt === undefined
      ? '—'
      : row.accessExpiresAt > now
        ? `in ${formatDuration(row.accessExpiresAt - now)}`
        : `expired ${formatDuration(now - row.accessExpiresAt)} ago`;
  let refreshAge = '—';
  let refreshWindowUsed: number | undefined;
  if (row.refreshIssuedAt !== undefined && row.refreshExpiresAt !== undefined) {
    const window = row.refreshExpiresAt - row.refreshIssuedAt;
    const age = Math.max(0, now - row.refreshIssuedAt);
    refreshAge = `${formatDuration(age)} of ${Math.round(window / DAY)} d`;
    refreshWindowUsed = window > 0 ? Math.min(1, age / window) : 1;
  }
  const failure = row.lastFailure;
  return {
    accessExpiresIn,
    refreshAge,
    refreshWindowUsed,
    lastRefresh:
      row.lastRefreshAt !== undefined
        ? formatRelative(row.lastRefreshAt, now)
        : row.refreshIssuedAt === undefined
          ? '—'
          : 'never',
    lastFailure:
      failure === undefined ? '—' : `${failure.category}: ${failure.message} (${formatRelative(failure.at, now)})`,
    nextRefresh:
      row.nextRefreshAt === undefined ? '—' : row.nextRefreshAt <= now ? 'now' : formatRelative(row.nextRefreshAt, now),
  };
}

/** Whether `value` names a row status (for `--status` and `?status=`). */
export function isRowStatus(value: string): value is PortalRowStatus {
  return (ROW_STATUSES as readonly string[]).includes(value);
}
