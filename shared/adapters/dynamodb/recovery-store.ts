import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { ttlSeconds } from '#shared/core/domain/time.js';
import type { TokenKey } from '#shared/core/domain/token-set.js';
import type { RecoveryRecord, RecoveryStore } from '#shared/core/ports/recovery-store.js';
import { issuedFrom, itemLabel } from './codec.js';
import { attributeIs, WriteExpression } from './expression.js';
import { type AnyDynamoDbClient, definedAttributes, documentClientOf, ItemReader } from './item-reader.js';
import { keys, TABLE_SCHEMA } from './table-schema.js';

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

  constructor(options: { readonly client: AnyDynamoDbClient; readonly tableName: string }) {
    this.doc = documentClientOf(options.client);
    this.table = options.tableName;
  }

  async save(record: RecoveryRecord): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          ...this.key(record),
          kind: 'recovery',
          memberId: record.memberId,
          userId: record.userId,
          usedRefreshToken: record.usedRefreshToken,
          issued: definedAttributes({ ...record.issued }),
          refreshExpiresAt: record.refreshExpiresAt,
          owner: record.owner,
          savedAt: record.savedAt,
          [TABLE_SCHEMA.timeToLiveAttribute]: ttlSeconds(record.refreshExpiresAt),
        },
      }),
    );
  }

  async get(key: TokenKey): Promise<RecoveryRecord | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: this.key(key), ConsistentRead: true }),
    );
    if (Item === undefined) return undefined;
    const read = new ItemReader(Item, itemLabel('parked pair', Item));
    return {
      memberId: key.memberId,
      userId: key.userId,
      usedRefreshToken: read.string('usedRefreshToken'),
      issued: issuedFrom(read.map('issued')),
      refreshExpiresAt: read.number('refreshExpiresAt'),
      owner: read.string('owner'),
      savedAt: read.number('savedAt'),
    };
  }

  async remove(key: TokenKey, usedRefreshToken: string): Promise<void> {
    const condition = new WriteExpression().when(attributeIs('usedRefreshToken', usedRefreshToken));
    try {
      await this.doc.send(new DeleteCommand({ TableName: this.table, Key: this.key(key), ...condition.condition() }));
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
