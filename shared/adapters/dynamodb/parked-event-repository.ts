import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandOutput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { ClaimTrigger, InstallClaim } from '#shared/core/domain/lifecycle-events.js';
import type { ParkedEvent } from '#shared/core/domain/parked-event.js';
import type { ParkedEventKey, ParkedEventRepository } from '#shared/core/ports/parked-event-repository.js';
import { keys, TABLE_SCHEMA } from './table-schema.js';

type Item = Record<string, unknown>;

export interface DynamoDbParkedEventRepositoryOptions {
  readonly client: DynamoDBClient | DynamoDBDocumentClient;
  readonly tableName: string;
  /** Due-index shards of parked claims. @default 2 */
  readonly shards?: number;
}

const TRIGGERS: readonly ClaimTrigger[] = ['ONAPPINSTALL', 'ONAPPUPDATE', 'install_page'];

function isTrigger(value: string): value is ClaimTrigger {
  return TRIGGERS.some((trigger) => trigger === value);
}

/** Claim ids are SHA-256 hex, already uniform: their first 32 bits pick the shard. */
export function parkedShardOf(id: string, shards: number): number {
  const head = Number.parseInt(id.slice(0, 8), 16);
  return (Number.isNaN(head) ? 0 : head) % shards;
}

function defined(record: Item): Item {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));
}

function text(item: Item, name: string): string {
  const value = item[name];
  if (typeof value !== 'string') throw new TypeError(`stored parked claim lacks string ${name}`);
  return value;
}
function number(item: Item, name: string): number {
  const value = item[name];
  if (typeof value !== 'number') throw new TypeError(`stored parked claim lacks number ${name}`);
  return value;
}
function optText(item: Item, name: string): string | undefined {
  const value = item[name];
  return typeof value === 'string' ? value : undefined;
}
function optNumber(item: Item, name: string): number | undefined {
  const value = item[name];
  return typeof value === 'number' ? value : undefined;
}

function claimOf(value: unknown): InstallClaim {
  if (typeof value !== 'object' || value === null) throw new TypeError('stored parked claim lacks its claim');
  const item = value as Item;
  const trigger = text(item, 'trigger');
  if (!isTrigger(trigger)) throw new TypeError('stored parked claim has an unknown trigger');
  const endpoints = item.serverEndpoints;
  if (!Array.isArray(endpoints) || !endpoints.every((e): e is string => typeof e === 'string')) {
    throw new TypeError('stored parked claim lacks server endpoints');
  }
  return {
    trigger,
    memberId: text(item, 'memberId'),
    refreshToken: text(item, 'refreshToken'),
    serverEndpoints: endpoints,
    applicationTokenHash: optText(item, 'applicationTokenHash'),
    scope: optText(item, 'scope'),
    appVersion: optText(item, 'appVersion'),
    claimedUserId: optNumber(item, 'claimedUserId'),
    receivedAt: number(item, 'receivedAt'),
  };
}

function toParkedEvent(item: Item): ParkedEvent {
  return {
    id: text(item, 'id'),
    claim: claimOf(item.claim),
    attempts: number(item, 'attempts'),
    dueAt: number(item, TABLE_SCHEMA.dueIndex.sortKey),
    parkedAt: number(item, 'parkedAt'),
    lastError: optText(item, 'lastError'),
  };
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
    this.doc =
      options.client instanceof DynamoDBDocumentClient ? options.client : DynamoDBDocumentClient.from(options.client);
    this.table = options.tableName;
    this.shards = options.shards ?? 2;
  }

  async park(event: ParkedEvent, ttlSeconds: number): Promise<boolean> {
    const { claim } = event;
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: defined({
            pk: keys.lifecyclePk(claim.memberId),
            sk: keys.parkedSk(event.id),
            kind: 'parked_claim',
            memberId: claim.memberId,
            id: event.id,
            claim: defined({
              trigger: claim.trigger,
              memberId: claim.memberId,
              refreshToken: claim.refreshToken,
              serverEndpoints: [...claim.serverEndpoints],
              applicationTokenHash: claim.applicationTokenHash,
              scope: claim.scope,
              appVersion: claim.appVersion,
              claimedUserId: claim.claimedUserId,
              receivedAt: claim.receivedAt,
            }),
            attempts: event.attempts,
            parkedAt: event.parkedAt,
            lastError: event.lastError,
            [TABLE_SCHEMA.dueIndex.partitionKey]: keys.parkedShard(parkedShardOf(event.id, this.shards)),
            [TABLE_SCHEMA.dueIndex.sortKey]: Math.round(event.dueAt),
            [TABLE_SCHEMA.timeToLiveAttribute]: Math.ceil(event.parkedAt / 1000) + ttlSeconds,
          }),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
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
    return (Items ?? []).map((item) => ({
      memberId: text(item, 'pk').slice(keys.lifecyclePk('').length),
      id: text(item, 'sk').slice(keys.parkedSkPrefix.length),
      dueAt: number(item, TABLE_SCHEMA.dueIndex.sortKey),
    }));
  }

  async claim(key: ParkedEventKey, retryAt: number): Promise<ParkedEvent | undefined> {
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: keys.lifecyclePk(key.memberId), sk: keys.parkedSk(key.id) },
          UpdateExpression: 'SET #dueAt = :retryAt, #attempts = #attempts + :one',
          ConditionExpression: '#dueAt = :seen',
          ExpressionAttributeNames: { '#dueAt': TABLE_SCHEMA.dueIndex.sortKey, '#attempts': 'attempts' },
          ExpressionAttributeValues: { ':retryAt': Math.round(retryAt), ':one': 1, ':seen': key.dueAt },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes === undefined ? undefined : toParkedEvent(Attributes);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  async reschedule(memberId: string, id: string, dueAt: number, lastError: string): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: keys.lifecyclePk(memberId), sk: keys.parkedSk(id) },
          UpdateExpression: 'SET #dueAt = :dueAt, #lastError = :lastError',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#dueAt': TABLE_SCHEMA.dueIndex.sortKey, '#lastError': 'lastError' },
          ExpressionAttributeValues: { ':dueAt': Math.round(dueAt), ':lastError': lastError },
        }),
      );
    } catch (error) {
      // Removed meanwhile (an uninstall cancelled it): nothing left to reschedule.
      if (error instanceof ConditionalCheckFailedException) return;
      throw error;
    }
  }

  async remove(memberId: string, id: string): Promise<void> {
    await this.doc.send(
      new DeleteCommand({ TableName: this.table, Key: { pk: keys.lifecyclePk(memberId), sk: keys.parkedSk(id) } }),
    );
  }

  async listForPortal(memberId: string): Promise<ParkedEvent[]> {
    const items = await this.queryPortal(memberId, keys.parkedSkPrefix);
    return items.map(toParkedEvent);
  }

  async removePortal(memberId: string): Promise<number> {
    const items = await this.queryPortal(memberId, undefined);
    for (let i = 0; i < items.length; i += 25) {
      let requests: Record<string, { DeleteRequest: { Key: Item } }[]> = {
        [this.table]: items.slice(i, i + 25).map((item) => ({ DeleteRequest: { Key: { pk: item.pk, sk: item.sk } } })),
      };
      for (let attempt = 0; Object.keys(requests).length > 0; attempt += 1) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 50 * 2 ** attempt)));
        const { UnprocessedItems } = await this.doc.send(new BatchWriteCommand({ RequestItems: requests }));
        requests = (UnprocessedItems ?? {}) as typeof requests;
      }
    }
    return items.length;
  }

  async recordReceipt(memberId: string, id: string, now: number, ttlSeconds: number): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          pk: keys.lifecyclePk(memberId),
          sk: keys.receiptSk(id),
          kind: 'lifecycle_receipt',
          memberId,
          finishedAt: now,
          [TABLE_SCHEMA.timeToLiveAttribute]: Math.ceil(now / 1000) + ttlSeconds,
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

  private async queryPortal(memberId: string, skPrefix: string | undefined): Promise<Item[]> {
    const items: Item[] = [];
    let cursor: Record<string, unknown> | undefined;
    do {
      const page: QueryCommandOutput = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: skPrefix === undefined ? 'pk = :pk' : 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues:
            skPrefix === undefined
              ? { ':pk': keys.lifecyclePk(memberId) }
              : { ':pk': keys.lifecyclePk(memberId), ':prefix': skPrefix },
          ConsistentRead: true,
          ExclusiveStartKey: cursor,
        }),
      );
      items.push(...(page.Items ?? []));
      cursor = page.LastEvaluatedKey;
    } while (cursor !== undefined);
    return items;
  }
}
