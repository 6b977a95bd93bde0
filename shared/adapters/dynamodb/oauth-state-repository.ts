import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { ttlSeconds } from '#shared/core/domain/time.js';
import type { OAuthStateRecord, OAuthStateRepository } from '#shared/core/ports/oauth-state-repository.js';
import { itemAbsent, itemExists, WriteExpression } from './expression.js';
import { type AnyDynamoDbClient, definedAttributes, documentClientOf, ItemReader } from './item-reader.js';
import { keys, TABLE_SCHEMA } from './table-schema.js';

/** OAuth `state` records in the token table, removed by TTL when abandoned. */
export class DynamoDbOAuthStateRepository implements OAuthStateRepository {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: AnyDynamoDbClient,
    private readonly tableName: string,
  ) {
    this.doc = documentClientOf(client);
  }

  async put(record: OAuthStateRecord): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: definedAttributes({
          pk: keys.statePk(record.state),
          sk: keys.stateSk,
          kind: 'oauth_state',
          portal: record.portal,
          browserBindingHash: record.browserBindingHash,
          returnTo: record.returnTo,
          createdAt: record.createdAt,
          expiresAt: record.expiresAt,
          [TABLE_SCHEMA.timeToLiveAttribute]: ttlSeconds(record.expiresAt),
        }),
        ...new WriteExpression().when(itemAbsent).condition(),
      }),
    );
  }

  async consume(state: string): Promise<OAuthStateRecord | undefined> {
    let Attributes: Record<string, unknown> | undefined;
    try {
      // Conditional, so that of concurrent callers exactly one deletes it and gets the record.
      ({ Attributes } = await this.doc.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: keys.statePk(state), sk: keys.stateSk },
          ...new WriteExpression().when(itemExists).condition(),
          ReturnValues: 'ALL_OLD',
        }),
      ));
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
    if (Attributes === undefined) return undefined;
    // The key holds the state itself (a single-use secret): errors name the item kind only.
    const read = new ItemReader(Attributes, 'OAuth state');
    return {
      state,
      portal: read.string('portal'),
      browserBindingHash: read.string('browserBindingHash'),
      returnTo: read.optionalString('returnTo'),
      createdAt: read.number('createdAt'),
      expiresAt: read.number('expiresAt'),
    };
  }
}
