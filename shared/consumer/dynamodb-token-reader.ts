import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  type QueryCommandOutput,
} from '@aws-sdk/client-dynamodb';
import { CONSUMER_READABLE_ATTRIBUTES, keys, TABLE_SCHEMA } from '#shared/adapters/dynamodb/table-schema.js';
import type { ReadableInstallation, ReadableTokenSet } from '#shared/core/domain/access-token.js';
import { StoredItemError } from '#shared/core/domain/errors.js';
import { INSTALLATION_STATUSES, TOKEN_STATUSES, type TokenKey } from '#shared/core/domain/token-set.js';

/** A portal as a consumer may see it: its installation and every token set, from one read. */
export interface ReadablePortal {
  readonly installation: ReadableInstallation | undefined;
  readonly tokenSets: readonly ReadableTokenSet[];
}

/**
 * What the consumer library reads of the token table. A reader only reads, and only what a consumer
 * may read (`ReadableTokenSet`): it can never return a refresh token.
 */
export interface TokenReader {
  /** One token set, or `undefined` when there is none. */
  readTokenSet(key: TokenKey): Promise<ReadableTokenSet | undefined>;
  /** The installation and every token set of the portal (to choose its default user). */
  readPortal(memberId: string): Promise<ReadablePortal>;
}

export interface DynamoDbTokenReaderOptions {
  readonly client: DynamoDBClient;
  /** Name or ARN of the token table. */
  readonly tableName: string;
}

/** `#a0, #a1, …` for every readable attribute: the projection the consumer grant allows, exactly. */
const PROJECTION = CONSUMER_READABLE_ATTRIBUTES.map((_, index) => `#a${index}`).join(', ');
const PROJECTION_NAMES = Object.fromEntries(CONSUMER_READABLE_ATTRIBUTES.map((name, index) => [`#a${index}`, name]));
/** The partition key's placeholder among them (a query's key condition uses no other name). */
const PARTITION_KEY_NAME = `#a${CONSUMER_READABLE_ATTRIBUTES.indexOf(TABLE_SCHEMA.partitionKey)}`;

/**
 * `TokenReader` on the token table with nothing but `GetItem` and `Query`, each projecting exactly the
 * attributes the consumer grant allows (a read without that projection is refused by IAM: the grant
 * requires `dynamodb:Select = SPECIFIC_ATTRIBUTES` and allows only those attribute names). Reads are
 * consistent, so a token a refresh replaced a moment ago is not read back.
 *
 * Uses the plain DynamoDB client (no document client): a handful of string and number attributes do
 * not need a marshalling library in every consumer's bundle.
 */
export class DynamoDbTokenReader implements TokenReader {
  constructor(private readonly options: DynamoDbTokenReaderOptions) {}

  async readTokenSet(key: TokenKey): Promise<ReadableTokenSet | undefined> {
    const { Item } = await this.options.client.send(
      new GetItemCommand({
        TableName: this.options.tableName,
        Key: {
          [TABLE_SCHEMA.partitionKey]: { S: keys.portalPk(key.memberId) },
          [TABLE_SCHEMA.sortKey]: { S: keys.tokenSk(key.userId) },
        },
        ProjectionExpression: PROJECTION,
        ExpressionAttributeNames: PROJECTION_NAMES,
        ConsistentRead: true,
      }),
    );
    return Item === undefined ? undefined : tokenSetFrom(Item);
  }

  async readPortal(memberId: string): Promise<ReadablePortal> {
    let installation: ReadableInstallation | undefined;
    const tokenSets: ReadableTokenSet[] = [];
    let cursor: Record<string, AttributeValue> | undefined;
    do {
      const page: QueryCommandOutput = await this.options.client.send(
        new QueryCommand({
          TableName: this.options.tableName,
          KeyConditionExpression: `${PARTITION_KEY_NAME} = :pk`,
          ExpressionAttributeValues: { ':pk': { S: keys.portalPk(memberId) } },
          Select: 'SPECIFIC_ATTRIBUTES',
          ProjectionExpression: PROJECTION,
          ExpressionAttributeNames: PROJECTION_NAMES,
          ConsistentRead: true,
          ExclusiveStartKey: cursor,
        }),
      );
      for (const item of page.Items ?? []) {
        const sk = item[TABLE_SCHEMA.sortKey]?.S ?? '';
        if (sk === keys.installationSk) installation = installationFrom(item);
        else if (sk.startsWith(keys.tokenSkPrefix)) tokenSets.push(tokenSetFrom(item));
        // Other items of the portal (parked pairs) show no readable attribute worth having.
      }
      cursor = page.LastEvaluatedKey;
    } while (cursor !== undefined);
    return { installation, tokenSets };
  }
}

/** Reads attributes of one item; a missing or mistyped one fails loudly with the item's key, never its value. */
class Fields {
  private readonly label: string;

  constructor(
    kind: string,
    private readonly item: Record<string, AttributeValue>,
  ) {
    this.label = `${kind} ${item[TABLE_SCHEMA.partitionKey]?.S ?? '?'}/${item[TABLE_SCHEMA.sortKey]?.S ?? '?'}`;
  }

  string(name: string): string {
    const value = this.item[name]?.S;
    if (value === undefined) throw new StoredItemError(this.label, name, 'is not a string');
    return value;
  }

  number(name: string): number {
    const value = this.optionalNumber(name);
    if (value === undefined) throw new StoredItemError(this.label, name, 'is not a number');
    return value;
  }

  optionalNumber(name: string): number | undefined {
    const raw = this.item[name];
    if (raw === undefined) return undefined;
    const value = raw.N === undefined ? Number.NaN : Number(raw.N);
    if (!Number.isFinite(value)) throw new StoredItemError(this.label, name, 'is not a number');
    return value;
  }

  oneOf<const T extends string>(name: string, values: readonly T[]): T {
    const value = this.string(name);
    const found = values.find((candidate) => candidate === value);
    if (found === undefined)
      throw new StoredItemError(this.label, name, 'has a value no version of the service writes');
    return found;
  }
}

function tokenSetFrom(item: Record<string, AttributeValue>): ReadableTokenSet {
  const read = new Fields('token set', item);
  return {
    memberId: read.string('memberId'),
    userId: read.number('userId'),
    accessToken: read.string('accessToken'),
    accessExpiresAt: read.number('accessExpiresAt'),
    clientEndpoint: read.string('clientEndpoint'),
    domain: read.string('domain'),
    status: read.oneOf('status', TOKEN_STATUSES),
    version: read.number('version'),
    nextRefreshAt: read.optionalNumber(TABLE_SCHEMA.dueIndex.sortKey),
    lastUsedAt: read.optionalNumber('lastUsedAt'),
  };
}

function installationFrom(item: Record<string, AttributeValue>): ReadableInstallation {
  const read = new Fields('installation', item);
  return {
    memberId: read.string('memberId'),
    status: read.oneOf('status', INSTALLATION_STATUSES),
    installedBy: read.optionalNumber('installedBy'),
  };
}
