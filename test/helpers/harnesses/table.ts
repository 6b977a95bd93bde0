import { randomUUID } from 'node:crypto';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand, type ScanCommandOutput } from '@aws-sdk/lib-dynamodb';
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

/**
 * Every item of a table, sorted by key: compare two reads to prove a request changed nothing.
 */
export async function readWholeTable(client: DynamoDBClient, tableName: string): Promise<Record<string, unknown>[]> {
  const doc = DynamoDBDocumentClient.from(client);
  const items: Record<string, unknown>[] = [];
  let cursor: Record<string, unknown> | undefined;
  do {
    const page: ScanCommandOutput = await doc.send(
      new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey: cursor }),
    );
    items.push(...(page.Items ?? []));
    cursor = page.LastEvaluatedKey;
  } while (cursor !== undefined);
  return items.sort((a, b) => `${String(a.pk)}|${String(a.sk)}`.localeCompare(`${String(b.pk)}|${String(b.sk)}`));
}
