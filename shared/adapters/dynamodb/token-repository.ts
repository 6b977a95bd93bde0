import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { dueShardOf } from '#shared/core/domain/due-shard.js';
import { LeaseHeldError, PortalNotFoundError, TokenConflictError } from '#shared/core/domain/errors.js';
import type { History } from '#shared/core/domain/token-history.js';
import {
  domainFromEndpoint,
  type Installation,
  type IssuedTokens,
  REFRESHABLE_STATUSES,
  type TokenKey,
  type TokenSet,
  type TokenStatus,
} from '#shared/core/domain/token-set.js';
import type { PortalAddressInput, PortalAddressStore } from '#shared/core/ports/portal-address-store.js';
import type {
  DuePage,
  HeldLease,
  InstallationInput,
  LeaseInput,
  NewChainInput,
  RecordFailureInput,
  RefreshResultInput,
  StoredHistory,
  TokenRepository,
} from '#shared/core/ports/token-repository.js';
import { deleteItems } from './batch.js';
import { historyFromItem, installationFromItem, itemLabel, tokenSetFromItem } from './codec.js';
import {
  absentOrBefore,
  attributeIs,
  itemAbsent,
  itemExists,
  leaseFree,
  leaseOwnedBy,
  leaseOwnedByOrFree,
  versionIs,
  WriteExpression,
} from './expression.js';
import { type AnyDynamoDbClient, definedAttributes, documentClientOf, type Item, ItemReader } from './item-reader.js';
import { decodeCursor, encodeCursor, queryAll } from './paging.js';
import { keys, TABLE_SCHEMA } from './table-schema.js';

export interface DynamoDbTokenRepositoryOptions {
  readonly client: AnyDynamoDbClient;
  readonly tableName: string;
  /** Shards of the due index. @default 4 */
  readonly dueShards?: number;
}

/**
 * `TokenRepository` (and `PortalAddressStore`) on one DynamoDB table (see `table-schema.ts`). Every
 * write is conditional; a lost condition is a `TokenConflictError` and changes nothing.
 *
 * @example
 * const repo = new DynamoDbTokenRepository({ client: new DynamoDBClient({}), tableName: 'tokens' });
 * const tokens = await repo.getTokenSet({ memberId, userId: 1 });
 */
export class DynamoDbTokenRepository implements TokenRepository, PortalAddressStore {
  readonly dueShards: number;
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(options: DynamoDbTokenRepositoryOptions) {
    this.doc = documentClientOf(options.client);
    this.table = options.tableName;
    this.dueShards = options.dueShards ?? 4;
  }

  async getInstallation(memberId: string): Promise<Installation | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: keys.portalPk(memberId), sk: keys.installationSk },
        ConsistentRead: true,
      }),
    );
    return Item === undefined ? undefined : installationFromItem(Item);
  }

  async saveInstallation(input: InstallationInput, expectedVersion: number | null): Promise<Installation> {
    const item = definedAttributes({
      pk: keys.portalPk(input.memberId),
      sk: keys.installationSk,
      kind: 'installation',
      memberId: input.memberId,
      domain: input.domain,
      clientEndpoint: input.clientEndpoint,
      serverEndpoint: input.serverEndpoint,
      status: input.status,
      applicationTokenHash: input.applicationTokenHash,
      appStatus: input.appStatus,
      scope: input.scope,
      appVersion: input.appVersion,
      installedBy: input.installedBy,
      installedAt: input.installedAt,
      uninstalledAt: input.uninstalledAt,
      version: expectedVersion === null ? 1 : expectedVersion + 1,
      updatedAt: input.now,
    });
    const condition = new WriteExpression().when(expectedVersion === null ? itemAbsent : versionIs(expectedVersion));
    try {
      await this.doc.send(new PutCommand({ TableName: this.table, Item: item, ...condition.condition() }));
    } catch (error) {
      throw conflict(error, 'installation changed meanwhile', input.memberId);
    }
    return installationFromItem(item);
  }

  async getTokenSet(key: TokenKey): Promise<TokenSet | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: this.tokenKey(key), ConsistentRead: true }),
    );
    return Item === undefined ? undefined : tokenSetFromItem(Item);
  }

  async listTokenSets(memberId: string): Promise<TokenSet[]> {
    const items = await queryAll(this.doc, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': keys.portalPk(memberId), ':prefix': keys.tokenSkPrefix },
      ConsistentRead: true,
    });
    return items.map(tokenSetFromItem);
  }

  async storeNewChain(input: NewChainInput, expectedVersion: number | null): Promise<TokenSet> {
    const key = { memberId: input.memberId, userId: input.userId };
    const write = this.tokenFields(new WriteExpression(), input, input.refreshExpiresAt, input.now)
      .set('status', 'active')
      .set('source', input.source)
      .set('consecutiveFailures', 0)
      .set('lastRefreshAt', input.refreshedAt)
      .set('runRefreshes', input.runRefreshes)
      .remove('lastFailure')
      .remove('leaseOwner')
      .remove('leaseUntil')
      .remove(LEGACY_HISTORY);
    this.due(write, key, 'active', input.nextRefreshAt);
    if (expectedVersion === null) {
      write.set('version', 1).set('createdAt', input.now).set('kind', 'token').when(itemAbsent);
    } else {
      write.set('version', expectedVersion + 1).when(versionIs(expectedVersion));
    }
    return this.updateToken(key, write, 'token set changed meanwhile');
  }

  async acquireLease(key: TokenKey, input: LeaseInput): Promise<HeldLease> {
    const write = new WriteExpression()
      .set('leaseOwner', input.owner)
      .set('leaseUntil', input.now + input.leaseMs)
      .when(itemExists, leaseFree(input.now));
    if (input.expectedVersion !== undefined) write.when(versionIs(input.expectedVersion));
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.tokenKey(key),
          ...write.update(),
          ReturnValues: 'ALL_OLD',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      if (Attributes === undefined) throw new PortalNotFoundError(key.memberId, key.userId);
      const before = tokenSetFromItem(Attributes);
      const tokenSet: TokenSet = { ...before, leaseOwner: input.owner, leaseUntil: input.now + input.leaseMs };
      const tookOver =
        before.leaseOwner !== undefined && before.leaseUntil !== undefined && before.leaseOwner !== input.owner
          ? { owner: before.leaseOwner, leaseUntil: before.leaseUntil }
          : undefined;
      return { tokenSet, tookOver };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      if (error.Item === undefined) throw new PortalNotFoundError(key.memberId, key.userId);
      // The exception carries the item as raw AttributeValues; the lease is all we need of it.
      if (error.Item.leaseOwner?.S === input.owner) {
        // Our own lease: an earlier attempt of this very write landed and its answer was lost (the
        // SDK retried). We hold it; whether it took over somebody else's is unknown now.
        const tokenSet = await this.getTokenSet(key);
        if (tokenSet === undefined) throw new PortalNotFoundError(key.memberId, key.userId);
        return { tokenSet, tookOver: undefined, uncertain: true };
      }
      const leaseUntil = Number(error.Item.leaseUntil?.N ?? Number.NaN);
      if (leaseUntil > input.now) throw new LeaseHeldError(key.memberId, key.userId, leaseUntil);
      throw new TokenConflictError('token set changed since it was read', {
        cause: error,
        details: { memberId: key.memberId, userId: key.userId },
      });
    }
  }

  async completeRefresh(key: TokenKey, input: RefreshResultInput): Promise<TokenSet> {
    const write = this.tokenFields(new WriteExpression(), input.issued, input.refreshExpiresAt, input.now)
      .set('status', 'active')
      .set('source', 'refresh')
      .set('consecutiveFailures', 0)
      .set('lastRefreshAt', input.now)
      // The open run's figures ride on the write the refresh makes anyway; its history entries are
      // not touched (a routine refresh is this one request).
      .set('runRefreshes', input.runRefreshes)
      .remove('lastFailure')
      .remove('leaseOwner')
      .remove('leaseUntil')
      .remove(LEGACY_HISTORY)
      .incrementVersion()
      .when(itemExists, attributeIs('refreshToken', input.usedRefreshToken));
    this.due(write, key, 'active', input.nextRefreshAt);
    return this.updateToken(key, write, 'tokens were replaced while refreshing');
  }

  async recordFailure(key: TokenKey, input: RecordFailureInput): Promise<TokenSet> {
    const write = new WriteExpression()
      .set('status', input.status)
      .set('lastFailure', input.failure)
      .set('consecutiveFailures', input.consecutiveFailures)
      .set('updatedAt', input.now)
      // A failure ends the open access-token run: its final figures go to the history entries.
      .remove('runRefreshes')
      .remove(LEGACY_HISTORY)
      .incrementVersion()
      .when(itemExists, attributeIs('refreshToken', input.usedRefreshToken));
    this.due(write, key, input.status, input.nextRefreshAt);
    if (input.owner !== undefined) {
      // Release our lease in the same write, but only if it is still ours.
      write.remove('leaseOwner').remove('leaseUntil').when(leaseOwnedByOrFree(input.owner));
    }
    return this.updateToken(key, write, 'tokens were replaced while refreshing');
  }

  async readHistory(key: TokenKey): Promise<StoredHistory | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: this.historyKey(key), ConsistentRead: true }),
    );
    if (Item === undefined) return undefined;
    const { entries, version } = historyFromItem(Item);
    return { entries, version };
  }

  async writeHistory(key: TokenKey, entries: History, expectedVersion: number | null, now: number): Promise<void> {
    const condition = new WriteExpression().when(expectedVersion === null ? itemAbsent : versionIs(expectedVersion));
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            ...this.historyKey(key),
            kind: 'history',
            memberId: key.memberId,
            userId: key.userId,
            entries,
            version: expectedVersion === null ? 1 : expectedVersion + 1,
            updatedAt: now,
          },
          ...condition.condition(),
        }),
      );
    } catch (error) {
      throw conflict(error, 'history changed meanwhile', key.memberId, key.userId);
    }
  }

  async releaseLease(key: TokenKey, owner: string): Promise<void> {
    const write = new WriteExpression().remove('leaseOwner').remove('leaseUntil').when(leaseOwnedBy(owner));
    await this.updateIfStill(key, write);
  }

  async touch(key: TokenKey, now: number, throttleMs: number): Promise<void> {
    const write = new WriteExpression()
      .set('lastUsedAt', now)
      .when(itemExists, absentOrBefore('lastUsedAt', now - throttleMs));
    await this.updateIfStill(key, write);
  }

  /** See `PortalAddressStore.updatePortalAddress`: one conditional write per item of the portal. */
  async updatePortalAddress(memberId: string, input: PortalAddressInput): Promise<void> {
    const itemKeys = (await this.portalItemKeys(memberId)).filter(
      (k) => k.sk === keys.installationSk || String(k.sk).startsWith(keys.tokenSkPrefix),
    );
    for (const key of itemKeys) {
      const write = new WriteExpression()
        .set('clientEndpoint', input.clientEndpoint)
        .set('domain', domainFromEndpoint(input.clientEndpoint))
        .set('updatedAt', input.now)
        // Only where the old address is still stored: a late or repeated report changes nothing.
        .when(itemExists, attributeIs('clientEndpoint', input.previousClientEndpoint));
      try {
        await this.doc.send(
          new UpdateCommand({ TableName: this.table, Key: { pk: key.pk, sk: key.sk }, ...write.update() }),
        );
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    }
  }

  async queryDue(
    shard: number,
    dueBefore: number,
    options: { limit?: number; cursor?: string } = {},
  ): Promise<DuePage> {
    const { Items, LastEvaluatedKey } = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: TABLE_SCHEMA.dueIndex.name,
        KeyConditionExpression: '#shard = :shard AND #dueAt <= :before',
        ExpressionAttributeNames: {
          '#shard': TABLE_SCHEMA.dueIndex.partitionKey,
          '#dueAt': TABLE_SCHEMA.dueIndex.sortKey,
        },
        ExpressionAttributeValues: { ':shard': keys.dueShard(shard), ':before': dueBefore },
        Limit: options.limit ?? 100,
        ExclusiveStartKey: decodeCursor(options.cursor),
      }),
    );
    return { keys: (Items ?? []).map(dueKeyFromIndexItem), cursor: encodeCursor(LastEvaluatedKey) };
  }

  async deleteTokenSets(memberId: string): Promise<number> {
    // Token sets, their histories and any parked recovery pairs: an uninstalled portal keeps no token anywhere.
    const itemKeys = (await this.portalItemKeys(memberId)).filter((item) => {
      const sk = String(item.sk);
      return (
        sk.startsWith(keys.tokenSkPrefix) || sk.startsWith(keys.historySkPrefix) || sk.startsWith(keys.recoverySkPrefix)
      );
    });
    // One DeleteItem each (a portal has a token set per user who opened the app): the functions that
    // only clean up after a raced install need no BatchWriteItem (infra/function-catalog.ts).
    for (const item of itemKeys) {
      await this.doc.send(new DeleteCommand({ TableName: this.table, Key: { pk: item.pk, sk: item.sk } }));
    }
    return itemKeys.filter((item) => String(item.sk).startsWith(keys.tokenSkPrefix)).length;
  }

  async deletePortal(memberId: string): Promise<number> {
    // A clean uninstall: every item of the portal, in batches of 25.
    const itemKeys = await this.portalItemKeys(memberId);
    await deleteItems(this.doc, this.table, itemKeys);
    return itemKeys.length;
  }

  private portalItemKeys(memberId: string): Promise<Item[]> {
    return queryAll(this.doc, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.portalPk(memberId) },
      ProjectionExpression: 'pk, sk',
      ConsistentRead: true,
    });
  }

  private tokenKey(key: TokenKey): { pk: string; sk: string } {
    return { pk: keys.portalPk(key.memberId), sk: keys.tokenSk(key.userId) };
  }

  private historyKey(key: TokenKey): { pk: string; sk: string } {
    return { pk: keys.portalPk(key.memberId), sk: keys.historySk(key.userId) };
  }

  private tokenFields(
    write: WriteExpression,
    issued: IssuedTokens,
    refreshExpiresAt: number,
    now: number,
  ): WriteExpression {
    write
      .set('memberId', issued.memberId)
      .set('userId', issued.userId)
      .set('accessToken', issued.accessToken)
      .set('refreshToken', issued.refreshToken)
      .set('accessExpiresAt', issued.accessExpiresAt)
      .set('refreshIssuedAt', issued.refreshIssuedAt)
      .set('refreshExpiresAt', refreshExpiresAt)
      .set('clientEndpoint', issued.clientEndpoint)
      .set('serverEndpoint', issued.serverEndpoint)
      .set('domain', domainFromEndpoint(issued.clientEndpoint))
      .set('updatedAt', now);
    // Refresh answers say `"scope": "app"`, which is not a scope list: keep the stored one then.
    if (issued.scope !== undefined && issued.scope !== 'app') write.set('scope', issued.scope);
    if (issued.appStatus !== undefined) write.set('appStatus', issued.appStatus);
    return write;
  }

  /** The due-index attributes exist only while the token set is refreshable and has a due time: a sparse index. */
  private due(write: WriteExpression, key: TokenKey, status: TokenStatus, nextRefreshAt: number | undefined): void {
    if (nextRefreshAt !== undefined && REFRESHABLE_STATUSES.has(status)) {
      write.set(TABLE_SCHEMA.dueIndex.partitionKey, keys.dueShard(dueShardOf(key, this.dueShards)));
      write.set(TABLE_SCHEMA.dueIndex.sortKey, Math.round(nextRefreshAt));
    } else {
      write.remove(TABLE_SCHEMA.dueIndex.partitionKey).remove(TABLE_SCHEMA.dueIndex.sortKey);
    }
  }

  private async updateToken(key: TokenKey, write: WriteExpression, message: string): Promise<TokenSet> {
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.tokenKey(key),
          ...write.update(),
          ReturnValues: 'ALL_NEW',
        }),
      );
      if (Attributes === undefined) throw new PortalNotFoundError(key.memberId, key.userId);
      return tokenSetFromItem(Attributes);
    } catch (error) {
      throw conflict(error, message, key.memberId, key.userId);
    }
  }

  /** A write whose condition failing means "nothing to do any more" (the lease is not ours, touched recently). */
  private async updateIfStill(key: TokenKey, write: WriteExpression): Promise<void> {
    try {
      await this.doc.send(new UpdateCommand({ TableName: this.table, Key: this.tokenKey(key), ...write.update() }));
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return;
      throw error;
    }
  }
}

/**
 * Where token sets written before the history had an item of its own kept it: every write of a token
 * set removes it (the refresh path has moved it to the history item by then).
 */
const LEGACY_HISTORY = 'history';

/** A due-index entry (KEYS_ONLY: the table key and the index key) as a token key and its due time. */
function dueKeyFromIndexItem(item: Item): TokenKey & { readonly dueAt: number } {
  const read = new ItemReader(item, itemLabel('due index entry', item));
  return {
    memberId: read.string('pk').slice(keys.portalPk('').length),
    userId: Number(read.string('sk').slice(keys.tokenSkPrefix.length)),
    dueAt: read.number(TABLE_SCHEMA.dueIndex.sortKey),
  };
}

function conflict(error: unknown, message: string, memberId: string, userId?: number): unknown {
  if (error instanceof ConditionalCheckFailedException) {
    return new TokenConflictError(message, { cause: error, details: { memberId, userId } });
  }
  return error;
}
