import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { ttlSeconds } from '#shared/core/domain/time.js';
import type { TokenKey } from '#shared/core/domain/token-set.js';
import type { ParkOutcome, RecoveryRecord, RecoveryStore } from '#shared/core/ports/recovery-store.js';
import { issuedFrom, itemLabel } from './codec.js';
import { attributeIs, itemAbsent, itemExists, WriteExpression } from './expression.js';
import { type AnyDynamoDbClient, definedAttributes, documentClientOf, ItemReader } from './item-reader.js';
import { keys, TABLE_SCHEMA } from './table-schema.js';

/** Names a pair's slot without the token itself: the key is visible to anyone who can list keys. */
function slotOf(usedRefreshToken: string): string {
  return createHash('sha256').update(usedRefreshToken, 'utf8').digest('hex').slice(0, 32);
}

/**
 * Parked pairs as `PORTAL#{memberId}` / `RECOVERY#{userId}#{slot}` items in the token table, one slot
 * per spent refresh token: the same encryption and backups as the tokens, removed with the portal, and
 * deleted by TTL once the pair's refresh window has closed (it is useless then).
 *
 * A pair is parked in one transaction with a check that the token set still holds the spent token: a
 * token set deleted by an uninstall, replaced by a newer chain, or already holding the pair (the write
 * landed after all) gets nothing parked.
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

  async save(record: RecoveryRecord): Promise<ParkOutcome> {
    const absent = new WriteExpression().when(itemAbsent).condition();
    const stillSpent = new WriteExpression()
      .when(itemExists, attributeIs('refreshToken', record.usedRefreshToken))
      .condition();
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.table,
                Item: {
                  ...this.key(record, record.usedRefreshToken),
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
                ...absent,
              },
            },
            {
              ConditionCheck: {
                TableName: this.table,
                Key: { pk: keys.portalPk(record.memberId), sk: keys.tokenSk(record.userId) },
                ConditionExpression: stillSpent.ConditionExpression ?? '',
                ExpressionAttributeNames: stillSpent.ExpressionAttributeNames,
                ExpressionAttributeValues: stillSpent.ExpressionAttributeValues,
              },
            },
          ],
        }),
      );
      return 'parked';
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const [park, tokenSet] = error.CancellationReasons ?? [];
      if (park?.Code === 'ConditionalCheckFailed') return 'already_parked';
      if (tokenSet?.Code === 'ConditionalCheckFailed') return 'not_needed';
      throw error;
    }
  }

  async get(key: TokenKey, usedRefreshToken: string): Promise<RecoveryRecord | undefined> {
    const { Item } = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: this.key(key, usedRefreshToken), ConsistentRead: true }),
    );
    if (Item === undefined) return undefined;
    const read = new ItemReader(Item, itemLabel('parked pair', Item));
    const stored = read.string('usedRefreshToken');
    // A slot names a hash of the token; the token itself decides.
    if (stored !== usedRefreshToken) return undefined;
    return {
      memberId: key.memberId,
      userId: key.userId,
      usedRefreshToken: stored,
      issued: issuedFrom(read.map('issued')),
      refreshExpiresAt: read.number('refreshExpiresAt'),
      owner: read.string('owner'),
      savedAt: read.number('savedAt'),
    };
  }

  async remove(key: TokenKey, usedRefreshToken: string): Promise<void> {
    const condition = new WriteExpression().when(attributeIs('usedRefreshToken', usedRefreshToken)).condition();
    try {
      await this.doc.send(
        new DeleteCommand({ TableName: this.table, Key: this.key(key, usedRefreshToken), ...condition }),
      );
    } catch (error) {
      // Gone already (applied by another worker, or deleted with the portal): nothing to do.
      if (error instanceof ConditionalCheckFailedException) return;
      throw error;
    }
  }

  private key(key: TokenKey, usedRefreshToken: string): { pk: string; sk: string } {
    return { pk: keys.portalPk(key.memberId), sk: keys.recoverySk(key.userId, slotOf(usedRefreshToken)) };
  }
}
