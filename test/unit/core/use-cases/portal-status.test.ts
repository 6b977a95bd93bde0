import { describe, expect, it } from 'vitest';
import { DAY, HOUR } from '#shared/core/domain/time.js';
import { type Installation, TOKEN_STATUSES } from '#shared/core/domain/token-set.js';
import type { PortalListing, PortalSummaryPage, TokenSummary } from '#shared/core/ports/portal-listing.js';
import {
  collectPortalStatus,
  describeRow,
  formatDuration,
  ROW_STATUSES,
  summarizeTokenSet,
  toRows,
} from '#shared/core/use-cases/portal-status.js';

const NOW = Date.UTC(2026, 10, 1, 12, 0, 0);

function installation(memberId: string, overrides: Partial<Installation> = {}): Installation {
  return {
    memberId,
    domain: `${memberId}.bitrix24.com`,
    clientEndpoint: `https://${memberId}.bitrix24.com/rest/`,
    serverEndpoint: 'https://oauth.bitrix.info/rest/',
    status: 'active',
    installedAt: NOW - 20 * DAY,
    version: 1,
    updatedAt: NOW - 20 * DAY,
    ...overrides,
  };
}

function tokenSet(memberId: string, overrides: Partial<TokenSummary> = {}): TokenSummary {
  return {
    memberId,
    userId: 1,
    accessExpiresAt: NOW + 50 * 60_000,
    refreshIssuedAt: NOW - 12 * DAY,
    refreshExpiresAt: NOW + 18 * DAY,
    clientEndpoint: `https://${memberId}.bitrix24.com/rest/`,
    serverEndpoint: 'https://oauth.bitrix.info/rest/',
    domain: `${memberId}.bitrix24.com`,
    status: 'active',
    source: 'refresh',
    version: 3,
    consecutiveFailures: 0,
    createdAt: NOW - 20 * DAY,
    updatedAt: NOW - HOUR,
    ...overrides,
  };
}

/** A listing over fixed items that hands them out `perPage` at a time, like the Scan does. */
class ListingFake implements PortalListing {
  readonly calls: (string | undefined)[] = [];
  constructor(
    private readonly items: (Installation | TokenSummary)[],
    private readonly perPage: number,
  ) {}

  async listPortalSummaries(options: { cursor?: string | undefined } = {}): Promise<PortalSummaryPage> {
    this.calls.push(options.cursor);
    const start = Number(options.cursor ?? '0');
    const slice = this.items.slice(start, start + this.perPage);
    const next = start + this.perPage;
    return {
      installations: slice.filter((i): i is Installation => 'installedAt' in i),
      tokenSets: slice.filter((i): i is TokenSummary => 'userId' in i),
      histories: [],
      scanned: slice.length,
      cursor: next < this.items.length ? String(next) : undefined,
    };
  }
}

describe('collectPortalStatus', () => {
  it('reads every page, counts rows per status over the whole table and reports progress', async () => {
    // Prepare
    const listing = new ListingFake(
      [
        installation('a'),
        tokenSet('a'),
        tokenSet('a', { userId: 5, status: 'reauth_required' }),
        installation('b', { status: 'uninstalled' }),
        installation('c'),
        tokenSet('d', { status: 'degraded' }),
      ],
      2,
    );
    const progress: number[] = [];

    // Act
    const report = await collectPortalStatus(
      { listing, now: () => NOW },
      { statuses: ['reauth_required', 'no_tokens'], onProgress: (p) => progress.push(p.pages) },
    );

    // Assess
    expect(listing.calls).toEqual([undefined, '2', '4']);
    expect(progress).toEqual([1, 2, 3]);
    expect(report.portals).toBe(4);
    expect(report.counts).toEqual({
      reauth_required: 1,
      invalid_client: 0,
      payment_required: 0,
      degraded: 1,
      no_tokens: 1,
      active: 1,
      uninstalled: 1,
      portal_deleted: 0,
    });
    expect(report.rows.map((r) => [r.memberId, r.status])).toEqual([
      ['a', 'reauth_required'],
      ['c', 'no_tokens'],
    ]);
  });
});

describe('toRows', () => {
  it('puts the most urgent first and takes the domain from the installation (it follows renames)', () => {
    // Prepare
    const installations = [installation('m1', { domain: 'renamed.bitrix24.com' }), installation('m2')];
    const tokenSets = [tokenSet('m1'), tokenSet('m2', { status: 'invalid_client' })];

    // Act
    const rows = toRows(installations, tokenSets);

    // Assess
    expect(rows.map((r) => [r.memberId, r.status, r.domain])).toEqual([
      ['m2', 'invalid_client', 'm2.bitrix24.com'],
      ['m1', 'active', 'renamed.bitrix24.com'],
    ]);
  });

  it('has a row status for every token status', () => {
    // Assess
    for (const status of TOKEN_STATUSES) expect(ROW_STATUSES).toContain(status);
  });
});

describe('describeRow', () => {
  it('says when the access token expires, how old the refresh token is against its window and what failed', () => {
    // Prepare
    const [row] = toRows(
      [],
      [
        tokenSet('m', {
          lastRefreshAt: NOW - 3 * HOUR,
          nextRefreshAt: NOW + 40 * 60_000,
          lastFailure: {
            category: 'transient',
            code: 'timeout',
            message: 'no answer in 8000 ms',
            at: NOW - 5 * 60_000,
          },
        }),
      ],
    );
    if (row === undefined) throw new Error('no row');

    // Act
    const description = describeRow(row, NOW);

    // Assess
    expect(description).toEqual({
      accessExpiresIn: 'in 50 min',
      refreshAge: '12 d of 30 d',
      refreshWindowUsed: 0.4,
      lastRefresh: '3 h ago',
      lastFailure: 'transient: no answer in 8000 ms (5 min ago)',
      nextRefresh: 'in 40 min',
    });
  });

  it('shows an expired access token and a never-refreshed chain plainly', () => {
    // Prepare
    const [row] = toRows(
      [],
      [
        tokenSet('m', {
          accessExpiresAt: NOW - 90_000,
          refreshIssuedAt: NOW - 5 * HOUR,
          refreshExpiresAt: NOW - 5 * HOUR + 30 * DAY,
        }),
      ],
    );
    if (row === undefined) throw new Error('no row');

    // Act
    const description = describeRow(row, NOW);

    // Assess
    expect(description.accessExpiresIn).toBe('expired 1 min ago');
    expect(description.refreshAge).toBe('5 h of 30 d');
    expect(description.lastRefresh).toBe('never');
    expect(description.nextRefresh).toBe('—');
  });
});

describe('formatDuration', () => {
  it('rounds down to the largest useful unit', () => {
    // Assess
    expect(formatDuration(45_000)).toBe('45 s');
    expect(formatDuration(12 * 60_000 + 59_000)).toBe('12 min');
    expect(formatDuration(5 * HOUR + 3 * 60_000)).toBe('5 h 3 min');
    expect(formatDuration(2 * HOUR)).toBe('2 h');
    expect(formatDuration(12 * DAY + 23 * HOUR)).toBe('12 d');
  });
});

describe('summarizeTokenSet', () => {
  it('drops both tokens and keeps the rest', () => {
    // Prepare
    const summary = tokenSet('m');

    // Act
    const result = summarizeTokenSet({ ...summary, accessToken: 'a-token', refreshToken: 'r-token' });

    // Assess
    expect(result).toEqual(summary);
  });
});
