import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbOAuthStateRepository } from '#shared/adapters/dynamodb/oauth-state-repository.js';
import { createTestTable, type TestTable } from '#test/helpers/harnesses/table.js';

let table: TestTable;
let states: DynamoDbOAuthStateRepository;

beforeAll(async () => {
  table = await createTestTable('state');
  states = new DynamoDbOAuthStateRepository(table.client, table.tableName);
});
afterAll(async () => {
  await table.drop();
});

describe('DynamoDbOAuthStateRepository (DynamoDB Local)', () => {
  it('hands a state to exactly one of several concurrent consumers', async () => {
    // Prepare
    const state = randomBytes(32).toString('base64url');
    const now = Date.now();
    await states.put({
      state,
      portal: 'alpha.bitrix24.com',
      browserBindingHash: 'h',
      createdAt: now,
      expiresAt: now + 600_000,
    });

    // Act
    const results = await Promise.all(Array.from({ length: 5 }, () => states.consume(state)));

    // Assess
    const found = results.filter((r) => r !== undefined);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      state,
      portal: 'alpha.bitrix24.com',
      browserBindingHash: 'h',
      expiresAt: now + 600_000,
    });
    expect(await states.consume(state)).toBeUndefined();
  });

  it('answers undefined for a state it never stored', async () => {
    expect(await states.consume('forged')).toBeUndefined();
  });
});
