import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { OAuthStateRecord, OAuthStateRepository } from '#shared/core/ports/oauth-state-repository.js';
import { keys, TABLE_SCHEMA } from './table-schema.js';

/** OAuth `state` records in the token table, removed by TTL when abandoned. */
export class DynamoDbOAuthStateRepository implements OAuthStateRepository {
  private readonly doc: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient | DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {
    this.doc = client instanceof DynamoDBDocumentClient ? client : DynamoDBDocumentClient.from(client);
  }

  async put(record: OAuthStateRecord): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: keys.statePk(record.state),
          sk: keys.stateSk,
          kind: 'oauth_state',
          portal: record.portal,
          browserBindingHash: record.browserBindingHash,
          ...(record.returnTo === undefined ? {} : { returnTo: record.returnTo }),
          createdAt: record.createdAt,
          expiresAt: record.expiresAt,
          [TABLE_SCHEMA.timeToLiveAttribute]: Math.ceil(record.expiresAt / 1000),
        },
        ConditionExpression: 'attribute_not_exists(pk)',
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
          ConditionExpression: 'attribute_exists(pk)',
          ReturnValues: 'ALL_OLD',
        }),
      ));
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
    if (Attributes === undefined) return undefined;
    return {
      state,
      portal: String(Attributes.portal),
      browserBindingHash: String(Attributes.browserBindingHash),
      returnTo: typeof Attributes.returnTo === 'string' ? Attributes.returnTo : undefined,
      createdAt: Number(Attributes.createdAt),
      expiresAt: Number(Attributes.expiresAt),
    };
  }
}
