import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { IssuedTokens, TokenKey } from '#shared/core/domain/token-set.js';
import type { RecoveryRecord, RecoveryStore } from '#shared/core/ports/recovery-store.js';
import { keys, TABLE_SCHEMA } from './table-schema.js';

type Item = Record<string, unknown>;

function issuedOf(value: unknown): IssuedTokens | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Item;
  const text = (name: string) => (typeof v[name] === 'string' ? (v[name] as string) : undefined);
  const count = (name: string) => (typeof v[name] === 'number' ? (v[name] as number) : undefined);
  const accessToken = text('accessToken');
  const refreshToken = text('refreshToken');
  const memberId = text('memberId');
  const clientEndpoint = text('clientEndpoint');
  const serverEndpoint = text('serverEndpoint');
  const accessExpiresAt = count('accessExpiresAt');
  const refreshIssuedAt = count('refreshIssuedAt');
  const userId = count('userId');
  if (
    accessToken === undefined ||
    refreshToken === undefined ||
    memberId === undefined ||
    clientEndpoint === undefined ||
    serverEndpoint === undefined ||
    accessExpiresAt === undefined ||
    refreshIssuedAt === undefined ||
    userId === undefined
  ) {
    return undefined;
  }
  return {
    accessToken,
    refreshToken,
    memberId,
    userId,
    clientEndpoint,
    serverEndpoint,
    accessExpiresAt,
    refreshIssuedAt,
    scope: text('scope'),
    appStatus: text('appStatus'),
  };
}

/**
 * Parked pairs as `PORTAL#{memberId}` / `RECOVERY#{userId}` items in the token table: the same
 * encryption and backups as the tokens, removed with the portal, and deleted by TTL once the pair's
 * refresh window has closed (it is useless then).
 *
 * @example
 * const recovery = new DynamoDbRecoveryStore({ client: documentClient, tableName: config.TABLE_NAME });
 */
export class DynamoDbRecoveryStore implements RecoveryStore {
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(options: { readonly client: DynamoDBClient | DynamoDBDocumentClient; readonly tableName: string }) {
    this.doc =
      options.client instanceof DynamoDBDocumentClient ? options.client : DynamoDBDocumentClient.from(options.client);
    this.table = options.tableName;
  }

  async save(record: RecoveryRecord): Promise<void> {
    const issued = Object.fromEntries(Object.entries(record.issued).filter(([, value]) => value !== undefined));
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          ...this.key(record),
          kind: 'recovery',
          memberId: record.memberId,
          userId: record.userId,
          usedRefreshToken: record.usedRefreshToken,
          issued,
          refreshExpiresAt: record.refreshExpiresAt,
          owner: record.owner,
          savedAt: record.savedAt,
          [TABLE_SCHEMA.timeToLiveAttribute]: Math.ceil(record.refreshExpiresAt / 1000),
        },
      }),
    );
  }

  async get(key: TokenKey): Promise<RecoveryRecord | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: this.key(key), ConsistentRead: true }),
    );
    if (Item === undefined) return undefined;
    const issued = issuedOf(Item.issued);
    if (issued === undefined || typeof Item.usedRefreshToken !== 'string') return undefined;
    return {
      memberId: key.memberId,
      userId: key.userId,
      usedRefreshToken: Item.usedRefreshToken,
      issued,
      refreshExpiresAt: Number(Item.refreshExpiresAt),
      owner: String(Item.owner),
      savedAt: Number(Item.savedAt),
    };
  }

  async remove(key: TokenKey, usedRefreshToken: string): Promise<void> {
    try {
      await this.doc.send(
        new DeleteCommand({
          TableName: this.table,
          Key: this.key(key),
          ConditionExpression: '#used = :used',
          ExpressionAttributeNames: { '#used': 'usedRefreshToken' },
          ExpressionAttributeValues: { ':used': usedRefreshToken },
        }),
      );
    } catch (error) {
      // A newer pair was parked meanwhile (or it is gone already): leave it.
      if (error instanceof ConditionalCheckFailedException) return;
      throw error;
    }
  }

  private key(key: TokenKey): { pk: string; sk: string } {
    return { pk: keys.portalPk(key.memberId), sk: keys.recoverySk(key.userId) };
  }
}
