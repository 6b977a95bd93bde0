import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type Backoff, backoffDelayMs } from '#shared/core/domain/backoff.js';
import { sleep as realSleep } from '#shared/core/domain/time.js';
import type { Item } from './item-reader.js';

/** DynamoDB's limit per BatchWriteItem. */
const BATCH_SIZE = 25;
/** Unprocessed items (throttling) are sent again after 50 ms, 100 ms, … up to 1 s. */
const UNPROCESSED_RETRY: Backoff = { baseMs: 50, maxMs: 1000 };

/**
 * Deletes the items of `keys` (each `{ pk, sk }`) in batches of 25, sending the ones DynamoDB left
 * unprocessed again with back-off until none is left.
 *
 * @example
 * await deleteItems(doc, tableName, await queryAll(doc, { … ProjectionExpression: 'pk, sk' }));
 */
export async function deleteItems(
  doc: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly Item[],
  sleep: (ms: number) => Promise<void> = realSleep,
): Promise<void> {
  for (let i = 0; i < keys.length; i += BATCH_SIZE) {
    let requests: Record<string, { DeleteRequest: { Key: Item } }[]> = {
      [tableName]: keys.slice(i, i + BATCH_SIZE).map((key) => ({ DeleteRequest: { Key: { pk: key.pk, sk: key.sk } } })),
    };
    for (let attempt = 0; Object.keys(requests).length > 0; attempt += 1) {
      if (attempt > 0) await sleep(backoffDelayMs(attempt, UNPROCESSED_RETRY));
      const { UnprocessedItems } = await doc.send(new BatchWriteCommand({ RequestItems: requests }));
      requests = (UnprocessedItems ?? {}) as typeof requests;
    }
  }
}
