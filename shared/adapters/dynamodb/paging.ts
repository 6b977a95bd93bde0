import type { DynamoDBDocumentClient, QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ValidationError } from '#shared/core/domain/errors.js';
import type { Item } from './item-reader.js';

/**
 * The opaque cursor of a paginated read: DynamoDB's `LastEvaluatedKey` (key attributes only) as
 * base64url JSON. Callers pass it back unchanged; a cursor that does not decode to a key is refused.
 */
export function encodeCursor(lastEvaluatedKey: Item | undefined): string | undefined {
  return lastEvaluatedKey === undefined
    ? undefined
    : Buffer.from(JSON.stringify(lastEvaluatedKey)).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): Item | undefined {
  if (cursor === undefined) return undefined;
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new ValidationError('the cursor is not one this service handed out');
  }
  const isKey =
    typeof key === 'object' &&
    key !== null &&
    !Array.isArray(key) &&
    Object.values(key).every((value) => typeof value === 'string' || typeof value === 'number');
  if (!isKey) throw new ValidationError('the cursor is not one this service handed out');
  return key as Item;
}

/**
 * Every item a query matches, page after page (a portal's items, for deletes and listings). Only for
 * small partitions: it holds the whole result in memory.
 */
export async function queryAll(doc: DynamoDBDocumentClient, input: QueryCommandInput): Promise<Item[]> {
  const items: Item[] = [];
  let cursor: Item | undefined;
  do {
    const page = await doc.send(new QueryCommand({ ...input, ExclusiveStartKey: cursor }));
    items.push(...(page.Items ?? []));
    cursor = page.LastEvaluatedKey;
  } while (cursor !== undefined);
  return items;
}
