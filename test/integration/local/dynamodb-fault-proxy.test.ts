import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FaultyDynamoDb, startFaultyDynamoDb } from '#test/helpers/harnesses/faulty-dynamodb.js';
import { createTestTable, type TestTable } from '#test/helpers/harnesses/table.js';

let table: TestTable;
let db: FaultyDynamoDb;

beforeAll(async () => {
  table = await createTestTable('proxy');
  db = await startFaultyDynamoDb({ limits: { requestTimeoutMs: 2000, connectionTimeoutMs: 1000, maxAttempts: 1 } });
});
afterAll(async () => {
  await db.stop();
  await table.drop();
});

const put = (pk: string) =>
  new PutItemCommand({ TableName: table.tableName, Item: { pk: { S: pk }, sk: { S: 'X' }, n: { N: '1' } } });
const read = (pk: string) =>
  table.client.send(
    new GetItemCommand({ TableName: table.tableName, Key: { pk: { S: pk }, sk: { S: 'X' } }, ConsistentRead: true }),
  );

describe('DynamoDB fault proxy', () => {
  it('passes requests through untouched when no rule matches', async () => {
    // Act
    await db.client.send(put('PORTAL#pass'));

    // Assess
    expect((await read('PORTAL#pass')).Item?.n?.N).toBe('1');
    expect(db.proxy.counts.requests.PutItem).toBeGreaterThan(0);
  });

  it('answers with errors and throttling for the operation and key prefix of a rule, and nothing is written', async () => {
    // Prepare
    db.proxy.addRule({ operations: ['PutItem'], keyPrefixes: ['PORTAL#e'], fault: { kind: 'error' }, times: 1 });
    db.proxy.addRule({
      operations: ['PutItem'],
      keyPrefixes: ['PORTAL#t'],
      fault: { kind: 'throttle', type: 'ProvisionedThroughputExceededException' },
      times: 1,
    });

    // Act
    const error = await db.client.send(put('PORTAL#e')).catch((e: unknown) => e);
    const throttled = await db.client.send(put('PORTAL#t')).catch((e: unknown) => e);

    // Assess
    expect((error as Error).name).toBe('InternalServerError');
    expect((throttled as Error).name).toBe('ProvisionedThroughputExceededException');
    expect((await read('PORTAL#e')).Item).toBeUndefined();
    expect((await read('PORTAL#t')).Item).toBeUndefined();
  });

  it('applies a write whose answer it then loses, and resets or hangs others without applying them', async () => {
    // Prepare
    db.proxy.addRule({ keyPrefixes: ['PORTAL#lost'], fault: { kind: 'lost' }, times: 1 });
    db.proxy.addRule({ keyPrefixes: ['PORTAL#reset'], fault: { kind: 'reset' }, times: 1 });
    db.proxy.addRule({ keyPrefixes: ['PORTAL#hang'], fault: { kind: 'hang' }, times: 1 });

    // Act
    const lost = await db.client.send(put('PORTAL#lost')).catch((e: unknown) => e);
    const reset = await db.client.send(put('PORTAL#reset')).catch((e: unknown) => e);
    const hung = await db.client.send(put('PORTAL#hang')).catch((e: unknown) => e);

    // Assess: every caller got an error; only the lost one was applied
    expect(lost).toBeInstanceOf(Error);
    expect(reset).toBeInstanceOf(Error);
    expect(hung).toBeInstanceOf(Error);
    expect((await read('PORTAL#lost')).Item?.n?.N).toBe('1');
    expect((await read('PORTAL#reset')).Item).toBeUndefined();
    expect((await read('PORTAL#hang')).Item).toBeUndefined();
    expect(db.proxy.counts.faults).toMatchObject({ 'PutItem:lost': 1, 'PutItem:reset': 1, 'PutItem:hang': 1 });
  });

  it('draws one fault of a list per faulted request', async () => {
    // Prepare
    db.proxy.resetCounts();
    db.proxy.addRule({
      keyPrefixes: ['PORTAL#mix'],
      fault: [{ kind: 'error' }, { kind: 'throttle' }, { kind: 'reset' }],
      times: 30,
    });

    // Act
    for (let i = 0; i < 30; i += 1) await db.client.send(put(`PORTAL#mix${i}`)).catch(() => undefined);

    // Assess: every request faulted, each with one of the listed faults, and more than one kind drawn
    const faults = db.proxy.counts.faults;
    expect(Object.values(faults).reduce((sum, n) => sum + n, 0)).toBe(30);
    expect(Object.keys(faults).every((id) => ['PutItem:error', 'PutItem:throttle', 'PutItem:reset'].includes(id))).toBe(
      true,
    );
    expect(Object.keys(faults).length).toBeGreaterThan(1);
  });

  it('draws probabilistic faults from its seed: the same seed faults the same requests', async () => {
    // Prepare
    const runs: boolean[][] = [];
    for (let run = 0; run < 2; run += 1) {
      const other = await startFaultyDynamoDb({
        seed: 42,
        limits: { requestTimeoutMs: 2000, connectionTimeoutMs: 1000, maxAttempts: 1 },
      });
      other.proxy.addRule({ keyPrefixes: ['PORTAL#p'], fault: { kind: 'error' }, probability: 0.5 });
      const outcomes: boolean[] = [];
      for (let i = 0; i < 12; i += 1) {
        outcomes.push(
          await other.client.send(put(`PORTAL#p${i}`)).then(
            () => true,
            () => false,
          ),
        );
      }
      runs.push(outcomes);
      await other.stop();
    }

    // Assess
    expect(runs[0]).toEqual(runs[1]);
    expect(runs[0]?.some((ok) => ok)).toBe(true);
    expect(runs[0]?.some((ok) => !ok)).toBe(true);
  });
});
