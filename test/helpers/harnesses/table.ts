import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ensureTable } from '#local/create-table.js';

/** A fresh table in the run's DynamoDB Local, so test files never see each other's items. */
export interface TestTable {
  readonly tableName: string;
  readonly client: DynamoDBClient;
  drop(): Promise<void>;
}

export async function createTestTable(prefix = 'test'): Promise<TestTable> {
  const client = new DynamoDBClient({});
  const tableName = `${prefix}-${randomUUID().slice(0, 8)}`;
  await ensureTable(client, tableName);
  return {
    tableName,
    client,
    drop: async () => {
      await client.send(new DeleteTableCommand({ TableName: tableName }));
      client.destroy();
    },
  };
}
