import type { History, HistoryEntry } from '#shared/core/domain/token-history.js';
import {
  type FailureRecord,
  INSTALLATION_STATUSES,
  type Installation,
  type IssuedTokens,
  TOKEN_SOURCES,
  TOKEN_STATUSES,
  type TokenKey,
  type TokenSet,
} from '#shared/core/domain/token-set.js';
import type { TokenSummary } from '#shared/core/ports/portal-listing.js';
import type { StoredHistory } from '#shared/core/ports/token-repository.js';
import { type Item, ItemReader } from './item-reader.js';
import { TABLE_SCHEMA } from './table-schema.js';

/**
 * The item codec of portal items: how an installation, a token set and a refreshed pair look in the
 * table, read back through `ItemReader` so a corrupt item fails loudly with its key.
 */

/** `token set PORTAL#…/TOKEN#1`: how errors name an item. */
export function itemLabel(kind: string, item: Item): string {
  return `${kind} ${String(item.pk ?? '?')}/${String(item.sk ?? '?')}`;
}

function failureFrom(read: ItemReader | undefined): FailureRecord | undefined {
  if (read === undefined) return undefined;
  return {
    category: read.string('category'),
    code: read.string('code'),
    message: read.string('message'),
    at: read.number('at'),
  };
}

const HISTORY_KINDS = ['chain', 'access', 'failure'] as const;

function historyEntryFrom(read: ItemReader): HistoryEntry {
  switch (read.oneOf('kind', HISTORY_KINDS)) {
    case 'chain':
      return { kind: 'chain', at: read.number('at'), source: read.oneOf('source', TOKEN_SOURCES) };
    case 'access': {
      const lastAt = read.optionalNumber('lastAt');
      return {
        kind: 'access',
        from: read.number('from'),
        until: read.number('until'),
        refreshes: read.number('refreshes'),
        ...(lastAt === undefined ? {} : { lastAt }),
      };
    }
    case 'failure':
      return {
        kind: 'failure',
        from: read.number('from'),
        to: read.number('to'),
        count: read.number('count'),
        category: read.string('category'),
        code: read.string('code'),
        status: read.oneOf('status', TOKEN_STATUSES),
      };
  }
}

function historyFrom(read: ItemReader, name: string): History | undefined {
  return read.optionalMapList(name)?.map(historyEntryFrom);
}

/** A history item (`HISTORY#{userId}`): the token set it belongs to, its entries and version. */
export function historyFromItem(item: Item): TokenKey & StoredHistory {
  const read = new ItemReader(item, itemLabel('history', item));
  return {
    memberId: read.string('memberId'),
    userId: read.number('userId'),
    entries: historyFrom(read, 'entries') ?? [],
    version: read.number('version'),
  };
}

/** A token set's metadata: everything but the two tokens (what an operator may see). */
export function tokenSummaryFromItem(item: Item): TokenSummary {
  const read = new ItemReader(item, itemLabel('token set', item));
  return {
    memberId: read.string('memberId'),
    userId: read.number('userId'),
    accessExpiresAt: read.number('accessExpiresAt'),
    refreshIssuedAt: read.number('refreshIssuedAt'),
    refreshExpiresAt: read.number('refreshExpiresAt'),
    clientEndpoint: read.string('clientEndpoint'),
    serverEndpoint: read.string('serverEndpoint'),
    domain: read.string('domain'),
    scope: read.optionalString('scope'),
    appStatus: read.optionalString('appStatus'),
    status: read.oneOf('status', TOKEN_STATUSES),
    source: read.oneOf('source', TOKEN_SOURCES),
    version: read.number('version'),
    leaseOwner: read.optionalString('leaseOwner'),
    leaseUntil: read.optionalNumber('leaseUntil'),
    nextRefreshAt: read.optionalNumber(TABLE_SCHEMA.dueIndex.sortKey),
    lastRefreshAt: read.optionalNumber('lastRefreshAt'),
    lastUsedAt: read.optionalNumber('lastUsedAt'),
    lastFailure: failureFrom(read.optionalMap('lastFailure')),
    consecutiveFailures: read.optionalNumber('consecutiveFailures') ?? 0,
    runRefreshes: read.optionalNumber('runRefreshes'),
    // Items written before the history had an item of its own kept it here.
    history: historyFrom(read, 'history'),
    createdAt: read.number('createdAt'),
    updatedAt: read.number('updatedAt'),
  };
}

export function tokenSetFromItem(item: Item): TokenSet {
  const read = new ItemReader(item, itemLabel('token set', item));
  return {
    ...tokenSummaryFromItem(item),
    accessToken: read.string('accessToken'),
    refreshToken: read.string('refreshToken'),
  };
}

export function installationFromItem(item: Item): Installation {
  const read = new ItemReader(item, itemLabel('installation', item));
  return {
    memberId: read.string('memberId'),
    domain: read.string('domain'),
    clientEndpoint: read.string('clientEndpoint'),
    serverEndpoint: read.string('serverEndpoint'),
    status: read.oneOf('status', INSTALLATION_STATUSES),
    applicationTokenHash: read.optionalString('applicationTokenHash'),
    appStatus: read.optionalString('appStatus'),
    scope: read.optionalString('scope'),
    appVersion: read.optionalString('appVersion'),
    installedBy: read.optionalNumber('installedBy'),
    installedAt: read.number('installedAt'),
    uninstalledAt: read.optionalNumber('uninstalledAt'),
    version: read.number('version'),
    updatedAt: read.number('updatedAt'),
  };
}

/** A pair as the authorization server issued it, stored as a map (a parked pair's `issued`). */
export function issuedFrom(read: ItemReader): IssuedTokens {
  return {
    accessToken: read.string('accessToken'),
    refreshToken: read.string('refreshToken'),
    memberId: read.string('memberId'),
    userId: read.number('userId'),
    clientEndpoint: read.string('clientEndpoint'),
    serverEndpoint: read.string('serverEndpoint'),
    accessExpiresAt: read.number('accessExpiresAt'),
    refreshIssuedAt: read.number('refreshIssuedAt'),
    scope: read.optionalString('scope'),
    appStatus: read.optionalString('appStatus'),
  };
}

/**
 * Attributes an operator listing may read: an allow-list, so an attribute added later (a token, a
 * hash) stays out of the listing until somebody decides it is safe to show.
 */
export const SUMMARY_ATTRIBUTES = [
  'pk',
  'sk',
  'memberId',
  'userId',
  'accessExpiresAt',
  'refreshIssuedAt',
  'refreshExpiresAt',
  'clientEndpoint',
  'serverEndpoint',
  'domain',
  'scope',
  'appStatus',
  'appVersion',
  'status',
  'source',
  'version',
  'leaseOwner',
  'leaseUntil',
  TABLE_SCHEMA.dueIndex.sortKey,
  'lastRefreshAt',
  'lastUsedAt',
  'lastFailure',
  'consecutiveFailures',
  'runRefreshes',
  // Times, statuses and error codes only: no token, code or secret is ever in them (`history` on token
  // sets written before the history had an item of its own, `entries` of a history item).
  'history',
  'entries',
  'createdAt',
  'updatedAt',
  'installedBy',
  'installedAt',
  'uninstalledAt',
] as const;
