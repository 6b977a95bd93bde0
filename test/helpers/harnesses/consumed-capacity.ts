import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** One request and the capacity DynamoDB Local says it consumed (`ReturnConsumedCapacity: INDEXES`). */
export interface ConsumedRequest {
  /** `UpdateItem`, `Query`, … */
  readonly command: string;
  /** The key's sort-key family (`TOKEN`, `HISTORY`, `APP`, …) for item requests; the index name for queries. */
  readonly target: string;
  readonly table: number;
  /** Units of the global secondary indexes (the `due` index). */
  readonly index: number;
}

interface Capacity {
  readonly Table?: { readonly CapacityUnits?: number };
  readonly GlobalSecondaryIndexes?: Readonly<Record<string, { readonly CapacityUnits?: number }>>;
}

function targetOf(input: Record<string, unknown>): string {
  if (typeof input.IndexName === 'string') return input.IndexName;
  // The document client's requests carry plain values at this step, the low-level client's AttributeValues.
  const key = (input.Key ?? input.Item) as Record<string, string | { S?: string }> | undefined;
  const text = (value: string | { S?: string } | undefined) => (typeof value === 'string' ? value : (value?.S ?? ''));
  const sk = text(key?.sk);
  const pk = text(key?.pk);
  // `TOKEN#1` → `TOKEN`; the app's own items are named by their partition key (`APP#…`).
  return pk.startsWith('APP#') ? 'APP' : (sk.split('#')[0] ?? '');
}

/**
 * A DynamoDB client (the run's DynamoDB Local) that asks every data request for `ReturnConsumedCapacity:
 * INDEXES` and records what each consumed, table and index apart. Nothing is mocked: the code under
 * test sends its ordinary requests through it.
 */
export class ConsumedCapacityRecorder {
  readonly client = new DynamoDBClient({});
  readonly requests: ConsumedRequest[] = [];

  constructor() {
    this.client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = String(context.commandName ?? '').replace(/Command$/, '');
        const input = args.input as Record<string, unknown>;
        input.ReturnConsumedCapacity = 'INDEXES';
        const result = await next(args);
        const answer = (result.output as { ConsumedCapacity?: Capacity | readonly Capacity[] }).ConsumedCapacity;
        // Transactions and batches answer a list (one entry per table).
        const consumed: readonly Capacity[] =
          answer === undefined ? [] : Array.isArray(answer) ? answer : [answer as Capacity];
        if (consumed.length > 0) {
          this.requests.push({
            command,
            target: targetOf(input),
            table: consumed.reduce((n, c) => n + (c.Table?.CapacityUnits ?? 0), 0),
            index: consumed.reduce(
              (n, c) =>
                n + Object.values(c.GlobalSecondaryIndexes ?? {}).reduce((m, i) => m + (i.CapacityUnits ?? 0), 0),
              0,
            ),
          });
        }
        return result;
      },
      { step: 'initialize', name: 'consumedCapacityRecorder' },
    );
  }

  /** Write units (table and index) of the recorded writes, optionally of one target only. */
  writeUnits(target?: string): number {
    return this.requests
      .filter((r) => WRITES.has(r.command) && (target === undefined || r.target === target))
      .reduce((n, r) => n + r.table + r.index, 0);
  }

  reset(): void {
    this.requests.length = 0;
  }

  destroy(): void {
    this.client.destroy();
  }
}

const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'TransactWriteItems', 'BatchWriteItem']);
