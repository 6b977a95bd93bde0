import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { CredentialsHealth } from '#shared/core/ports/credentials-health.js';
import type { ClientCredentialsProvider } from '#shared/core/ports/oauth-client.js';
import { absentOrBefore, WriteExpression } from './expression.js';
import { type AnyDynamoDbClient, documentClientOf, ItemReader } from './item-reader.js';
import { keys } from './table-schema.js';

/**
 * `CredentialsHealth` as one item of the token table (`APP#CREDENTIALS` / `HEALTH`): a timestamp and a
 * fingerprint of the credentials that were accepted (16 hex digits of a SHA-256 over id and secret;
 * never the secret). An acceptance counts only for a process holding the same credentials: after a
 * rotation gone wrong, processes with the new (refused) secret must not read the old secret's
 * acceptances as "our credentials work". Writes only move the timestamp forward, so concurrent
 * recorders never make it older.
 *
 * @example
 * const health = new DynamoDbCredentialsHealth({ client: documentClient, tableName: config.TABLE_NAME, credentials });
 */
export class DynamoDbCredentialsHealth implements CredentialsHealth {
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly credentials: ClientCredentialsProvider;

  constructor(options: {
    readonly client: AnyDynamoDbClient;
    readonly tableName: string;
    /** The credentials this process uses (cached by the provider). */
    readonly credentials: ClientCredentialsProvider;
  }) {
    this.doc = documentClientOf(options.client);
    this.table = options.tableName;
    this.credentials = options.credentials;
  }

  async recordAccepted(at: number): Promise<void> {
    const write = new WriteExpression()
      .set('kind', 'credentials_health')
      .set('acceptedAt', Math.round(at))
      .set('fingerprint', await this.fingerprint())
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
    if (Item === undefined) return undefined;
    const item = new ItemReader(Item, 'credentials health');
    // Another secret's acceptance says nothing about ours.
    if (item.optionalString('fingerprint') !== (await this.fingerprint())) return undefined;
    return item.optionalNumber('acceptedAt');
  }

  private async fingerprint(): Promise<string> {
    const { clientId, clientSecret } = await this.credentials.get();
    return createHash('sha256').update(`${clientId}\n${clientSecret}`, 'utf8').digest('hex').slice(0, 16);
  }
}

const KEY = { pk: keys.credentialsPk, sk: keys.credentialsSk };
