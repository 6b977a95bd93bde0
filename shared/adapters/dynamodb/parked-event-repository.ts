import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { parkedShardOf } from '#shared/core/domain/due-shard.js';
import { CLAIM_TRIGGERS, type InstallClaim } from '#shared/core/domain/lifecycle-events.js';
import type { ParkedEvent, VerifiedPair } from '#shared/core/domain/parked-event.js';
import { ttlSeconds } from '#shared/core/domain/time.js';
import type { ParkedEventKey, ParkedEventRepository, ParkedRetry } from '#shared/core/ports/parked-event-repository.js';
import { deleteItems } from './batch.js';
import { itemLabel } from './codec.js';
import { attributeIs, itemAbsent, itemExists, WriteExpression } from './expression.js';
import { type AnyDynamoDbClient, definedAttributes, documentClientOf, type Item, ItemReader } from './item-reader.js';
import { queryAll } from './paging.js';
import { keys, TABLE_SCHEMA } from './table-schema.js';

export interface DynamoDbParkedEventRepositoryOptions {
  readonly client: AnyDynamoDbClient;
  readonly tableName: string;
  /** Due-index shards of parked claims. @default 2 */
  readonly shards?: number;
}

function claimFrom(read: ItemReader): InstallClaim {
  return {
    trigger: read.oneOf('trigger', CLAIM_TRIGGERS),
    memberId: read.string('memberId'),
    domain: read.optionalString('domain'),
    refreshToken: read.string('refreshToken'),
    serverEndpoints: read.stringList('serverEndpoints'),
    applicationTokenHash: read.optionalString('applicationTokenHash'),
    scope: read.optionalString('scope'),
    appVersion: read.optionalString('appVersion'),
    claimedUserId: read.optionalNumber('claimedUserId'),
    receivedAt: read.number('receivedAt'),
  };
}

function pairFrom(read: ItemReader): VerifiedPair {
  return {
    serverEndpoint: read.string('verifiedOn'),
    issued: {
      accessToken: read.string('accessToken'),
      refreshToken: read.string('refreshToken'),
      accessExpiresAt: read.number('accessExpiresAt'),
      refreshIssuedAt: read.number('refreshIssuedAt'),
      memberId: read.string('memberId'),
      userId: read.number('userId'),
      clientEndpoint: read.string('clientEndpoint'),
      serverEndpoint: read.string('serverEndpoint'),
      scope: read.optionalString('scope'),
      appStatus: read.optionalString('appStatus'),
    },
  };
}

function parkedEventFromItem(item: Item): ParkedEvent {
  const read = new ItemReader(item, itemLabel('parked claim', item));
  const pair = read.optionalMap('pair');
  return {
    id: read.string('id'),
    claim: claimFrom(read.map('claim')),
    attempts: read.number('attempts'),
    // Claims parked before attempts were settled count every earlier attempt as in doubt.
    settledAttempts: read.optionalNumber('settledAttempts') ?? 0,
    dueAt: read.number(TABLE_SCHEMA.dueIndex.sortKey),
    parkedAt: read.number('parkedAt'),
    lastError: read.optionalString('lastError'),
    lastAttemptAt: read.optionalNumber('lastAttemptAt'),
    pair: pair === undefined ? undefined : pairFrom(pair),
  };
}

function pairItem(pair: VerifiedPair): Item {
  return definedAttributes({ ...pair.issued, verifiedOn: pair.serverEndpoint });
}

/**
 * `ParkedEventRepository` in the token table: parked claims at `LIFECYCLE#{memberId}` /
 * `PARKED#{id}`, listed in the `due` index under `PARKED#{n}`; receipts at `LIFECYCLE#{memberId}` /
 * `RECEIPT#{id}`. Both carry a TTL so nothing outlives its use even if a step is skipped.
 *
 * @example
 * const parked = new DynamoDbParkedEventRepository({ client: documentClient, tableName: 'tokens' });
 */
export class DynamoDbParkedEventRepository implements ParkedEventRepository {
  readonly shards: number;
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(options: DynamoDbParkedEventRepositoryOptions) {
    this.doc = documentClientOf(options.client);
    this.table = options.tableName;
    this.shards = options.shards ?? 2;
  }

  async park(event: ParkedEvent, ttlSecondsFromParking: number): Promise<boolean> {
    const { claim } = event;
    const item = definedAttributes({
      ...this.key(claim.memberId, event.id),
      kind: 'parked_claim',
      memberId: claim.memberId,
      id: event.id,
      claim: definedAttributes({ ...claim, serverEndpoints: [...claim.serverEndpoints] }),
      attempts: event.attempts,
      settledAttempts: event.settledAttempts,
      parkedAt: event.parkedAt,
      lastError: event.lastError,
      pair: event.pair === undefined ? undefined : pairItem(event.pair),
      [TABLE_SCHEMA.dueIndex.partitionKey]: keys.parkedShard(parkedShardOf(event.id, this.shards)),
      [TABLE_SCHEMA.dueIndex.sortKey]: Math.round(event.dueAt),
      [TABLE_SCHEMA.timeToLiveAttribute]: ttlSeconds(event.parkedAt) + ttlSecondsFromParking,
    });
    try {
      await this.doc.send(
        new PutCommand({ TableName: this.table, Item: item, ...new WriteExpression().when(itemAbsent).condition() }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async queryDue(shard: number, dueBefore: number, limit = 50): Promise<ParkedEventKey[]> {
    const { Items } = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: TABLE_SCHEMA.dueIndex.name,
        KeyConditionExpression: '#shard = :shard AND #dueAt <= :before',
        ExpressionAttributeNames: {
          '#shard': TABLE_SCHEMA.dueIndex.partitionKey,
          '#dueAt': TABLE_SCHEMA.dueIndex.sortKey,
        },
        ExpressionAttributeValues: { ':shard': keys.parkedShard(shard), ':before': dueBefore },
        Limit: limit,
      }),
    );
    return (Items ?? []).map((item) => {
      const read = new ItemReader(item, itemLabel('parked claim index entry', item));
      return {
        memberId: read.string('pk').slice(keys.lifecyclePk('').length),
        id: read.string('sk').slice(keys.parkedSkPrefix.length),
        dueAt: read.number(TABLE_SCHEMA.dueIndex.sortKey),
      };
    });
  }

  async claim(key: ParkedEventKey, retryAt: number): Promise<ParkedEvent | undefined> {
    const write = new WriteExpression()
      .set(TABLE_SCHEMA.dueIndex.sortKey, Math.round(retryAt))
      // Counted in the same write: `attempts` includes the one this claim starts.
      .increment('attempts')
      .when(attributeIs(TABLE_SCHEMA.dueIndex.sortKey, key.dueAt));
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.key(key.memberId, key.id),
          ...write.update(),
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes === undefined ? undefined : parkedEventFromItem(Attributes);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  claimKeyOf(storedKey: unknown): { memberId: string; id: string } | undefined {
    if (typeof storedKey !== 'object' || storedKey === null) return undefined;
    const { pk, sk } = storedKey as { pk?: { S?: unknown }; sk?: { S?: unknown } };
    const partition = pk?.S;
    const sort = sk?.S;
    if (typeof partition !== 'string' || typeof sort !== 'string') return undefined;
    const lifecycle = keys.lifecyclePk('');
    if (!partition.startsWith(lifecycle) || !sort.startsWith(keys.parkedSkPrefix)) return undefined;
    return { memberId: partition.slice(lifecycle.length), id: sort.slice(keys.parkedSkPrefix.length) };
  }

  async get(memberId: string, id: string): Promise<ParkedEvent | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: this.key(memberId, id), ConsistentRead: true }),
    );
    return Item === undefined ? undefined : parkedEventFromItem(Item);
  }

  async holdPair(memberId: string, id: string, pair: VerifiedPair, keepUntil: number): Promise<boolean> {
    const write = new WriteExpression()
      .set('pair', pairItem(pair))
      .set(TABLE_SCHEMA.timeToLiveAttribute, ttlSeconds(keepUntil))
      .when(itemExists);
    try {
      await this.doc.send(new UpdateCommand({ TableName: this.table, Key: this.key(memberId, id), ...write.update() }));
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async reschedule(memberId: string, id: string, retry: ParkedRetry): Promise<void> {
    const write = new WriteExpression()
      .set(TABLE_SCHEMA.dueIndex.sortKey, Math.round(retry.dueAt))
      .set('lastError', retry.lastError)
      .set('lastAttemptAt', Math.round(retry.at))
      .when(itemExists);
    if (retry.settledAttempts !== undefined) write.set('settledAttempts', retry.settledAttempts);
    try {
      await this.doc.send(new UpdateCommand({ TableName: this.table, Key: this.key(memberId, id), ...write.update() }));
    } catch (error) {
      // Removed meanwhile (an uninstall cancelled it): nothing left to reschedule.
      if (error instanceof ConditionalCheckFailedException) return;
      throw error;
    }
  }

  async remove(memberId: string, id: string): Promise<void> {
    await this.doc.send(new DeleteCommand({ TableName: this.table, Key: this.key(memberId, id) }));
  }

  async listForPortal(memberId: string): Promise<ParkedEvent[]> {
    const items = await queryAll(this.doc, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': keys.lifecyclePk(memberId), ':prefix': keys.parkedSkPrefix },
      ConsistentRead: true,
    });
    return items.map(parkedEventFromItem);
  }

  async removePortal(memberId: string): Promise<number> {
    const items = await queryAll(this.doc, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.lifecyclePk(memberId) },
      ProjectionExpression: 'pk, sk',
      ConsistentRead: true,
    });
    await deleteItems(this.doc, this.table, items);
    return items.length;
  }

  async recordReceipt(memberId: string, id: string, now: number, ttlSecondsFromNow: number): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          pk: keys.lifecyclePk(memberId),
          sk: keys.receiptSk(id),
          kind: 'lifecycle_receipt',
          memberId,
          finishedAt: now,
          [TABLE_SCHEMA.timeToLiveAttribute]: ttlSeconds(now) + ttlSecondsFromNow,
        },
      }),
    );
  }

  async hasReceipt(memberId: string, id: string): Promise<boolean> {
    const { Item } = await this.doc.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: keys.lifecyclePk(memberId), sk: keys.receiptSk(id) },
        ConsistentRead: true,
        ProjectionExpression: 'pk',
      }),
    );
    return Item !== undefined;
  }

  private key(memberId: string, id: string): { pk: string; sk: string } {
    return { pk: keys.lifecyclePk(memberId), sk: keys.parkedSk(id) };
  }
}
