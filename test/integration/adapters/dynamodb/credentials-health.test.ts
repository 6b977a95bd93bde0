import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbCredentialsHealth } from '#shared/adapters/dynamodb/credentials-health.js';
import { createTestTable, readWholeTable, type TestTable } from '#test/helpers/harnesses/table.js';

const RIGHT = {
  clientId: 'local.health00000001.11111111',
  clientSecret: 'RightSecret0123456789abcdefghijklmnopqrstuv',
};
const ROTATED_WRONG = { clientId: RIGHT.clientId, clientSecret: 'WrongSecret0123456789abcdefghijklmnopqrstuv' };

let table: TestTable;

beforeAll(async () => {
  table = await createTestTable('credentials-health');
});
afterAll(async () => {
  await table.drop();
});

function healthOf(credentials: { clientId: string; clientSecret: string }): DynamoDbCredentialsHealth {
  return new DynamoDbCredentialsHealth({
    client: table.client,
    tableName: table.tableName,
    credentials: { get: async () => credentials },
  });
}

describe('DynamoDbCredentialsHealth (DynamoDB Local)', () => {
  it('counts an acceptance only for processes holding the same credentials, and stores no secret', async () => {
    // Prepare: warm processes still hold the right secret; a new one got a wrongly rotated secret
    const warm = healthOf(RIGHT);
    const rotated = healthOf(ROTATED_WRONG);

    // Act
    await warm.recordAccepted(1_000);

    // Assess
    expect(await warm.lastAcceptedAt()).toBe(1_000);
    expect(await rotated.lastAcceptedAt()).toBeUndefined();
    const stored = JSON.stringify(await readWholeTable(table.client, table.tableName));
    expect(stored).not.toContain(RIGHT.clientSecret);
  });

  it('never moves the acceptance time backwards', async () => {
    // Prepare
    const health = healthOf(RIGHT);
    await health.recordAccepted(5_000);

    // Act
    await health.recordAccepted(4_000);

    // Assess
    expect(await health.lastAcceptedAt()).toBe(5_000);
  });
});
