import type { Installation, TokenSet } from '#shared/core/domain/token-set.js';

/** A token set without its tokens: everything an operator may see. */
export type TokenSummary = Omit<TokenSet, 'accessToken' | 'refreshToken'>;

/** One page of the table's portal items (installations and token summaries, in table order). */
export interface PortalSummaryPage {
  readonly installations: readonly Installation[];
  readonly tokenSets: readonly TokenSummary[];
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
