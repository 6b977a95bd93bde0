import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandOutput,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { LeaseHeldError, PortalNotFoundError, TokenConflictError } from '#shared/core/domain/errors.js';
import {
  domainFromEndpoint,
  type FailureRecord,
  type Installation,
  type IssuedTokens,
  REFRESHABLE_STATUSES,
  type TokenKey,
  type TokenSet,
  type TokenSource,
  type TokenStatus,
} from '#shared/core/domain/token-set.js';
import type { PortalAddressInput } from '#shared/core/ports/portal-address-store.js';
import type { PortalListing, PortalSummaryPage, TokenSummary } from '#shared/core/ports/portal-listing.js';
import type {
  DuePage,
  HeldLease,
  InstallationInput,
  LeaseInput,
  NewChainInput,
  RecordFailureInput,
  RefreshResultInput,
  TokenRepository,
} from '#shared/core/ports/token-repository.js';
import { keys, TABLE_SCHEMA } from './table-schema.js';

type Item = Record<string, unknown>;

export interface DynamoDbTokenRepositoryOptions {
  readonly client: DynamoDBClient | DynamoDBDocumentClient;
  readonly tableName: string;
  /** Shards of the due index. @default 4 */
  readonly dueShards?: number;
}

/** FNV-1a: a stable, cheap spread of token sets over the due-index shards. */
export function dueShardOf(key: TokenKey, shards: number): number {
  let hash = 0x811c9dc5;
  const text = `${key.memberId}#${key.userId}`;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shards;
}

function str(item: Item, name: string): string {
  const value = item[name];
  if (typeof value !== 'string') throw new TypeError(`stored item lacks string ${name}`);
  return value;
}
function num(item: Item, name: string): number {
  const value = item[name];
  if (typeof value !== 'number') throw new TypeError(`stored item lacks number ${name}`);
  return value;
}
function optStr(item: Item, name: string): string | undefined {
  const value = item[name];
  return typeof value === 'string' ? value : undefined;
}
function optNum(item: Item, name: string): number | undefined {
  const value = item[name];
  return typeof value === 'number' ? value : undefined;
}
function failureOf(item: Item): FailureRecord | undefined {
  const value = item.lastFailure;
  if (typeof value !== 'object' || value === null) return undefined;
  const f = value as Item;
  return { category: str(f, 'category'), code: str(f, 'code'), message: str(f, 'message'), at: num(f, 'at') };
}

function toTokenSet(item: Item): TokenSet {
  return { ...toTokenSummary(item), accessToken: str(item, 'accessToken'), refreshToken: str(item, 'refreshToken') };
}

/**
 * Attributes the operator listing may read: an allow-list, so an attribute added later (a token, a
 * hash) stays out of the listing until somebody decides it is safe to show.
 */
const SUMMARY_ATTRIBUTES = [
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
  'dueAt',
  'lastRefreshAt',
  'lastUsedAt',
  'lastFailure',
  'consecutiveFailures',
  'createdAt',
  'updatedAt',
  'installedBy',
  'installedAt',
  'uninstalledAt',
] as const;

function toTokenSummary(item: Item): TokenSummary {
  return {
    memberId: str(item, 'memberId'),
    userId: num(item, 'userId'),
    accessExpiresAt: num(item, 'accessExpiresAt'),
    refreshIssuedAt: num(item, 'refreshIssuedAt'),
    refreshExpiresAt: num(item, 'refreshExpiresAt'),
    clientEndpoint: str(item, 'clientEndpoint'),
    serverEndpoint: str(item, 'serverEndpoint'),
    domain: str(item, 'domain'),
    scope: optStr(item, 'scope'),
    appStatus: optStr(item, 'appStatus'),
    status: str(item, 'status') as TokenStatus,
    source: str(item, 'source') as TokenSource,
    version: num(item, 'version'),
    leaseOwner: optStr(item, 'leaseOwner'),
    leaseUntil: optNum(item, 'leaseUntil'),
    nextRefreshAt: optNum(item, 'dueAt'),
    lastRefreshAt: optNum(item, 'lastRefreshAt'),
    lastUsedAt: optNum(item, 'lastUsedAt'),
    lastFailure: failureOf(item),
    consecutiveFailures: optNum(item, 'consecutiveFailures') ?? 0,
    createdAt: num(item, 'createdAt'),
    updatedAt: num(item, 'updatedAt'),
  };
}

function toInstallation(item: Item): Installation {
  return {
    memberId: str(item, 'memberId'),
    domain: str(item, 'domain'),
    clientEndpoint: str(item, 'clientEndpoint'),
    serverEndpoint: str(item, 'serverEndpoint'),
    status: str(item, 'status') as Installation['status'],
    applicationTokenHash: optStr(item, 'applicationTokenHash'),
    appStatus: optStr(item, 'appStatus'),
    scope: optStr(item, 'scope'),
    appVersion: optStr(item, 'appVersion'),
    installedBy: optNum(item, 'installedBy'),
    installedAt: num(item, 'installedAt'),
    uninstalledAt: optNum(item, 'uninstalledAt'),
    version: num(item, 'version'),
    updatedAt: num(item, 'updatedAt'),
  };
}

/** Drops undefined values: DynamoDB rejects them and `removeUndefinedValues` would hide mistakes elsewhere. */
function defined(record: Item): Item {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));
}

/**
 * Builds the SET/REMOVE clauses for a token write. The due-index attributes exist only while the token
 * set is refreshable and has a due time, which keeps the index sparse.
 */
class UpdateBuilder {
  private readonly sets: string[] = [];
  private readonly removes: string[] = [];
  readonly names: Record<string, string> = {};
  readonly values: Record<string, unknown> = {};

  set(name: string, value: unknown): this {
    if (value === undefined) return this.remove(name);
    this.names[`#${name}`] = name;
    this.values[`:${name}`] = value;
    this.sets.push(`#${name} = :${name}`);
    return this;
  }

  remove(name: string): this {
    this.names[`#${name}`] = name;
    this.removes.push(`#${name}`);
    return this;
  }

  value(placeholder: string, value: unknown): this {
    this.values[placeholder] = value;
    return this;
  }

  name(name: string): this {
    this.names[`#${name}`] = name;
    return this;
  }

  /** `version = version + 1`: every write moves the optimistic-concurrency counter. */
  incrementVersion(): this {
    this.names['#version'] = 'version';
    this.values[':one'] = 1;
    this.sets.push('#version = #version + :one');
    return this;
  }

  expression(): string {
    const parts: string[] = [];
    if (this.sets.length > 0) parts.push(`SET ${this.sets.join(', ')}`);
    if (this.removes.length > 0) parts.push(`REMOVE ${this.removes.join(', ')}`);
    return parts.join(' ');
  }
}

/**
 * `TokenRepository` on one DynamoDB table (see `shared/adapters/dynamodb/table-schema.ts`).
 *
 * @example
 * const repo = new DynamoDbTokenRepository({ client: new DynamoDBClient({}), tableName: 'tokens' });
 * const tokens = await repo.getTokenSet({ memberId, userId: 1 });
 */
export class DynamoDbTokenRepository implements TokenRepository, PortalListing {
  readonly dueShards: number;
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(options: DynamoDbTokenRepositoryOptions) {
    this.doc =
      options.client instanceof DynamoDBDocumentClient ? options.client : DynamoDBDocumentClient.from(options.client);
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
    return Item === undefined ? undefined : toInstallation(Item);
  }

  async saveInstallation(input: InstallationInput, expectedVersion: number | null): Promise<Installation> {
    const item = defined({
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
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: item,
          ...(expectedVersion === null
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : {
                ConditionExpression: '#version = :expected',
                ExpressionAttributeNames: { '#version': 'version' },
                ExpressionAttributeValues: { ':expected': expectedVersion },
              }),
        }),
      );
    } catch (error) {
      throw this.conflict(error, 'installation changed meanwhile', input.memberId);
    }
    return toInstallation(item);
  }

  async getTokenSet(key: TokenKey): Promise<TokenSet | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: this.tokenKey(key), ConsistentRead: true }),
    );
    return Item === undefined ? undefined : toTokenSet(Item);
  }

  async listTokenSets(memberId: string): Promise<TokenSet[]> {
    const result: TokenSet[] = [];
    let cursor: Record<string, unknown> | undefined;
    do {
      const page: QueryCommandOutput = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': keys.portalPk(memberId), ':prefix': keys.tokenSkPrefix },
          ConsistentRead: true,
          ExclusiveStartKey: cursor,
        }),
      );
      for (const item of page.Items ?? []) result.push(toTokenSet(item));
      cursor = page.LastEvaluatedKey;
    } while (cursor !== undefined);
    return result;
  }

  async storeNewChain(input: NewChainInput, expectedVersion: number | null): Promise<TokenSet> {
    const key = { memberId: input.memberId, userId: input.userId };
    const update = this.tokenFields(new UpdateBuilder(), input, input.refreshExpiresAt, input.now)
      .set('status', 'active')
      .set('source', input.source)
      .set('consecutiveFailures', 0)
      .remove('lastFailure')
      .remove('leaseOwner')
      .remove('leaseUntil')
      .remove('lastRefreshAt');
    this.due(update, key, 'active', input.nextRefreshAt);
    let condition: string;
    if (expectedVersion === null) {
      condition = 'attribute_not_exists(pk)';
      update.set('version', 1).set('createdAt', input.now).set('kind', 'token');
    } else {
      condition = '#version = :expected';
      update.value(':expected', expectedVersion).set('version', expectedVersion + 1);
    }
    return this.updateToken(key, update, condition, 'token set changed meanwhile');
  }

  async acquireLease(key: TokenKey, input: LeaseInput): Promise<HeldLease> {
    const update = new UpdateBuilder().set('leaseOwner', input.owner).set('leaseUntil', input.now + input.leaseMs);
    update.value(':now', input.now).name('pk');
    let condition = 'attribute_exists(#pk) AND (attribute_not_exists(#leaseUntil) OR #leaseUntil <= :now)';
    if (input.expectedVersion !== undefined) {
      condition += ' AND #version = :expected';
      update.name('version').value(':expected', input.expectedVersion);
    }
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.tokenKey(key),
          UpdateExpression: update.expression(),
          ConditionExpression: condition,
          ExpressionAttributeNames: update.names,
          ExpressionAttributeValues: update.values,
          ReturnValues: 'ALL_OLD',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      if (Attributes === undefined) throw new PortalNotFoundError(key.memberId, key.userId);
      const before = toTokenSet(Attributes);
      const tokenSet: TokenSet = { ...before, leaseOwner: input.owner, leaseUntil: input.now + input.leaseMs };
      const tookOver =
        before.leaseOwner !== undefined && before.leaseUntil !== undefined && before.leaseOwner !== input.owner
          ? { owner: before.leaseOwner, leaseUntil: before.leaseUntil }
          : undefined;
      return { tokenSet, tookOver };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        const current = error.Item === undefined ? undefined : this.unmarshalled(error.Item);
        if (current === undefined) throw new PortalNotFoundError(key.memberId, key.userId);
        const leaseUntil = optNum(current, 'leaseUntil');
        if (leaseUntil !== undefined && leaseUntil > input.now)
          throw new LeaseHeldError(key.memberId, key.userId, leaseUntil);
        throw new TokenConflictError('token set changed since it was read', {
          cause: error,
          details: { memberId: key.memberId, userId: key.userId },
        });
      }
      throw error;
    }
  }

  async completeRefresh(key: TokenKey, input: RefreshResultInput): Promise<TokenSet> {
    const update = this.tokenFields(new UpdateBuilder(), input.issued, input.refreshExpiresAt, input.now)
      .set('status', 'active')
      .set('source', 'refresh')
      .set('consecutiveFailures', 0)
      .set('lastRefreshAt', input.now)
      .remove('lastFailure')
      .remove('leaseOwner')
      .remove('leaseUntil');
    this.due(update, key, 'active', input.nextRefreshAt);
    update.value(':used', input.usedRefreshToken).incrementVersion();
    return this.updateToken(
      key,
      update,
      'attribute_exists(pk) AND #refreshToken = :used',
      'tokens were replaced while refreshing',
    );
  }

  async recordFailure(key: TokenKey, input: RecordFailureInput): Promise<TokenSet> {
    const update = new UpdateBuilder()
      .set('status', input.status)
      .set('lastFailure', input.failure)
      .set('consecutiveFailures', input.consecutiveFailures)
      .set('updatedAt', input.now);
    this.due(update, key, input.status, input.nextRefreshAt);
    update.value(':used', input.usedRefreshToken).name('refreshToken').incrementVersion();
    let condition = 'attribute_exists(pk) AND #refreshToken = :used';
    if (input.owner !== undefined) {
      // Release our lease in the same write, but only if it is still ours.
      update.remove('leaseOwner').remove('leaseUntil').value(':owner', input.owner);
      condition += ' AND (attribute_not_exists(#leaseOwner) OR #leaseOwner = :owner)';
    }
    return this.updateToken(key, update, condition, 'tokens were replaced while refreshing');
  }

  async releaseLease(key: TokenKey, owner: string): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.tokenKey(key),
          UpdateExpression: 'REMOVE #leaseOwner, #leaseUntil',
          ConditionExpression: '#leaseOwner = :owner',
          ExpressionAttributeNames: { '#leaseOwner': 'leaseOwner', '#leaseUntil': 'leaseUntil' },
          ExpressionAttributeValues: { ':owner': owner },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return;
      throw error;
    }
  }

  async touch(key: TokenKey, now: number, throttleMs: number): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.tokenKey(key),
          UpdateExpression: 'SET #lastUsedAt = :now',
          ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(#lastUsedAt) OR #lastUsedAt < :since)',
          ExpressionAttributeNames: { '#lastUsedAt': 'lastUsedAt' },
          ExpressionAttributeValues: { ':now': now, ':since': now - throttleMs },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return;
      throw error;
    }
  }

  /** See `PortalAddressStore.updatePortalAddress`: one conditional write per item of the portal. */
  async updatePortalAddress(memberId: string, input: PortalAddressInput): Promise<void> {
    const itemKeys = (await this.portalItemKeys(memberId)).filter(
      (k) => k.sk === keys.installationSk || String(k.sk).startsWith(keys.tokenSkPrefix),
    );
    for (const key of itemKeys) {
      try {
        await this.doc.send(
          new UpdateCommand({
            TableName: this.table,
            Key: { pk: key.pk, sk: key.sk },
            UpdateExpression: 'SET #clientEndpoint = :endpoint, #domain = :domain, #updatedAt = :now',
            // Only where the old address is still stored: a late or repeated report changes nothing.
            ConditionExpression: 'attribute_exists(pk) AND #clientEndpoint = :previous',
            ExpressionAttributeNames: {
              '#clientEndpoint': 'clientEndpoint',
              '#domain': 'domain',
              '#updatedAt': 'updatedAt',
            },
            ExpressionAttributeValues: {
              ':endpoint': input.clientEndpoint,
              ':domain': domainFromEndpoint(input.clientEndpoint),
              ':now': input.now,
              ':previous': input.previousClientEndpoint,
            },
          }),
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
        ExclusiveStartKey:
          options.cursor === undefined
            ? undefined
            : (JSON.parse(Buffer.from(options.cursor, 'base64url').toString()) as Item),
      }),
    );
    const page = (Items ?? []).map((item) => {
      const memberId = str(item, 'pk').slice('PORTAL#'.length);
      const userId = Number(str(item, 'sk').slice(keys.tokenSkPrefix.length));
      return { memberId, userId, dueAt: num(item, TABLE_SCHEMA.dueIndex.sortKey) };
    });
    return {
      keys: page,
      cursor:
        LastEvaluatedKey === undefined
          ? undefined
          : Buffer.from(JSON.stringify(LastEvaluatedKey)).toString('base64url'),
    };
  }

  async listPortalSummaries(options: { cursor?: string | undefined; limit?: number } = {}): Promise<PortalSummaryPage> {
    // Scan with an allow-listed projection: DynamoDB bills the whole items it reads, but no token is
    // ever returned to (or held by) the caller.
    const { Items, LastEvaluatedKey, ScannedCount } = await this.doc.send(
      new ScanCommand({
        TableName: this.table,
        Limit: options.limit ?? 500,
        FilterExpression: 'begins_with(#pk, :portal)',
        ProjectionExpression: SUMMARY_ATTRIBUTES.map((name) => `#${name}`).join(', '),
        ExpressionAttributeNames: Object.fromEntries(SUMMARY_ATTRIBUTES.map((name) => [`#${name}`, name])),
        ExpressionAttributeValues: { ':portal': keys.portalPk('') },
        ExclusiveStartKey:
          options.cursor === undefined
            ? undefined
            : (JSON.parse(Buffer.from(options.cursor, 'base64url').toString()) as Item),
      }),
    );
    const installations: Installation[] = [];
    const tokenSets: TokenSummary[] = [];
    for (const item of Items ?? []) {
      const sk = str(item, 'sk');
      if (sk === keys.installationSk) installations.push(toInstallation(item));
      else if (sk.startsWith(keys.tokenSkPrefix)) tokenSets.push(toTokenSummary(item));
    }
    return {
      installations,
      tokenSets,
      scanned: ScannedCount ?? 0,
      cursor:
        LastEvaluatedKey === undefined
          ? undefined
          : Buffer.from(JSON.stringify(LastEvaluatedKey)).toString('base64url'),
    };
  }

  async deleteTokenSets(memberId: string): Promise<number> {
    // Token sets and any parked recovery pairs: an uninstalled portal keeps no token anywhere.
    const itemKeys = (await this.portalItemKeys(memberId)).filter((item) => {
      const sk = String(item.sk);
      return sk.startsWith(keys.tokenSkPrefix) || sk.startsWith(keys.recoverySkPrefix);
    });
    await this.deleteKeys(itemKeys);
    return itemKeys.filter((item) => String(item.sk).startsWith(keys.tokenSkPrefix)).length;
  }

  async deletePortal(memberId: string): Promise<number> {
    const itemKeys = await this.portalItemKeys(memberId);
    await this.deleteKeys(itemKeys);
    return itemKeys.length;
  }

  private async portalItemKeys(memberId: string): Promise<Item[]> {
    const itemKeys: Item[] = [];
    let cursor: Record<string, unknown> | undefined;
    do {
      const page: QueryCommandOutput = await this.doc.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': keys.portalPk(memberId) },
          ProjectionExpression: 'pk, sk',
          ConsistentRead: true,
          ExclusiveStartKey: cursor,
        }),
      );
      itemKeys.push(...(page.Items ?? []));
      cursor = page.LastEvaluatedKey;
    } while (cursor !== undefined);
    return itemKeys;
  }

  private async deleteKeys(itemKeys: Item[]): Promise<void> {
    for (let i = 0; i < itemKeys.length; i += 25) {
      let requests: Record<string, { DeleteRequest: { Key: Item } }[]> = {
        [this.table]: itemKeys.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key: { pk: Key.pk, sk: Key.sk } } })),
      };
      for (let attempt = 0; Object.keys(requests).length > 0; attempt += 1) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** attempt)));
        const { UnprocessedItems } = await this.doc.send(new BatchWriteCommand({ RequestItems: requests }));
        requests = (UnprocessedItems ?? {}) as typeof requests;
      }
    }
  }

  private tokenKey(key: TokenKey): { pk: string; sk: string } {
    return { pk: keys.portalPk(key.memberId), sk: keys.tokenSk(key.userId) };
  }

  private tokenFields(
    update: UpdateBuilder,
    issued: IssuedTokens,
    refreshExpiresAt: number,
    now: number,
  ): UpdateBuilder {
    update
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
    if (issued.scope !== undefined && issued.scope !== 'app') update.set('scope', issued.scope);
    if (issued.appStatus !== undefined) update.set('appStatus', issued.appStatus);
    return update;
  }

  private due(update: UpdateBuilder, key: TokenKey, status: TokenStatus, nextRefreshAt: number | undefined): void {
    if (nextRefreshAt !== undefined && REFRESHABLE_STATUSES.has(status)) {
      update.set(TABLE_SCHEMA.dueIndex.partitionKey, keys.dueShard(dueShardOf(key, this.dueShards)));
      update.set(TABLE_SCHEMA.dueIndex.sortKey, Math.round(nextRefreshAt));
    } else {
      update.remove(TABLE_SCHEMA.dueIndex.partitionKey).remove(TABLE_SCHEMA.dueIndex.sortKey);
    }
  }

  private async updateToken(
    key: TokenKey,
    update: UpdateBuilder,
    condition: string,
    message: string,
  ): Promise<TokenSet> {
    try {
      const { Attributes } = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.tokenKey(key),
          UpdateExpression: update.expression(),
          ConditionExpression: condition,
          ExpressionAttributeNames: update.names,
          ExpressionAttributeValues: update.values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      if (Attributes === undefined) throw new PortalNotFoundError(key.memberId, key.userId);
      return toTokenSet(Attributes);
    } catch (error) {
      throw this.conflict(error, message, key.memberId, key.userId);
    }
  }

  private conflict(error: unknown, message: string, memberId: string, userId?: number): unknown {
    if (error instanceof ConditionalCheckFailedException) {
      return new TokenConflictError(message, { cause: error, details: { memberId, userId } });
    }
    return error;
  }

  private unmarshalled(item: Record<string, unknown>): Item {
    // The low-level exception carries AttributeValue maps; read the two fields we need.
    const out: Item = {};
    for (const [name, value] of Object.entries(item)) {
      if (typeof value === 'object' && value !== null) {
        const attr = value as { S?: string; N?: string };
        if (attr.S !== undefined) out[name] = attr.S;
        else if (attr.N !== undefined) out[name] = Number(attr.N);
      }
    }
    return out;
  }
}
