import type { History } from '#shared/core/domain/token-history.js';
import type { Installation, TokenKey, TokenSet } from '#shared/core/domain/token-set.js';

/** A token set without its tokens: everything an operator may see. */
export type TokenSummary = Omit<TokenSet, 'accessToken' | 'refreshToken'>;

/** A token set's stored history entries (bring them up to date with `withLiveRun` and the token set). */
export interface HistorySummary extends TokenKey {
  readonly entries: History;
}

/** One page of the table's portal items (installations, token summaries and histories, in table order). */
export interface PortalSummaryPage {
  readonly installations: readonly Installation[];
  readonly tokenSets: readonly TokenSummary[];
  /** History items; a token set's may be on another page than the token set. */
  readonly histories: readonly HistorySummary[];
  /** Items the page read (including ones that are neither, e.g. OAuth states). */
  readonly scanned: number;
  /** Pass back to get the next page; absent on the last page. */
  readonly cursor?: string | undefined;
}

/**
 * Reads every portal for operators (status page, CLI) without ever reading a token: the adapter
 * projects an allow-list of attributes, so a token never leaves the table on this path.
 *
 * A full list has to visit every item (statuses that need a person, such as `reauth_required`, are
 * exactly the ones the sparse due index leaves out), so this is a paginated read of the whole table:
 * use it for operator views, never on a request path.
 *
 * @example
 * let cursor: string | undefined;
 * do {
 *   const page = await listing.listPortalSummaries({ cursor });
 *   // … page.installations, page.tokenSets …
 *   cursor = page.cursor;
 * } while (cursor !== undefined);
 */
export interface PortalListing {
  listPortalSummaries(options?: {
    readonly cursor?: string | undefined;
    readonly limit?: number;
  }): Promise<PortalSummaryPage>;
}
