import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { CredentialsHealth } from '#shared/core/ports/credentials-health.js';
import { absentOrBefore, WriteExpression } from './expression.js';
import { type AnyDynamoDbClient, documentClientOf, ItemReader } from './item-reader.js';
import { keys } from './table-schema.js';

/**
 * `CredentialsHealth` as one item of the token table (`APP#CREDENTIALS` / `HEALTH`): a timestamp,
 * no secret. Writes only move it forward, so concurrent recorders never make it older.
 *
 * @example
 * const health = new DynamoDbCredentialsHealth({ client: documentClient, tableName: config.TABLE_NAME });
 */
export class DynamoDbCredentialsHealth implements CredentialsHealth {
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(options: { readonly client: AnyDynamoDbClient; readonly tableName: string }) {
    this.doc = documentClientOf(options.client);
    this.table = options.tableName;
  }

  async recordAccepted(at: number): Promise<void> {
    const write = new WriteExpression()
      .set('kind', 'credentials_health')
      .set('acceptedAt', Math.round(at))
      .when(absentOrBefore('acceptedAt', Math.round(at)));
    try {
      await this.doc.send(new UpdateCommand({ TableName: this.table, Key: KEY, ...write.update() }));
    } catch (error) {
      // A later acceptance is recorded already.
      if (error instanceof ConditionalCheckFailedException) return;
      throw error;
    }
  }

  async lastAcceptedAt(): Promise<number | undefined> {
    const { Item } = await this.doc.send(new GetCommand({ TableName: this.table, Key: KEY, ConsistentRead: true }));
    return Item === undefined ? undefined : new ItemReader(Item, 'credentials health').optionalNumber('acceptedAt');
  }
}

const KEY = { pk: keys.credentialsPk, sk: keys.credentialsSk };
