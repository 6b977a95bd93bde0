import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startDynamoDbServer } from '#local/dynamodb-server.js';

/** What one command name was asked and answered. */
export interface CommandTally {
  /** Requests sent (after SDK retries: one per `send`). */
  calls: number;
  /** Items returned (`Count` of Query/Scan, 1 per found GetItem). */
  items: number;
  /** `ScannedCount` of Query/Scan: items DynamoDB read before filtering. */
  scanned: number;
  /** `ConsumedCapacity.CapacityUnits` summed (requested with `ReturnConsumedCapacity: TOTAL`). */
  capacityUnits: number;
}

/** Operations whose request accepts `ReturnConsumedCapacity`. */
const DATA_COMMANDS = new Set([
  'GetItem',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'Query',
  'Scan',
  'BatchWriteItem',
  'BatchGetItem',
  'TransactWriteItems',
  'TransactGetItems',
]);

function capacityOf(output: Record<string, unknown>): number {
  const consumed = output.ConsumedCapacity;
  const list = Array.isArray(consumed) ? consumed : consumed === undefined ? [] : [consumed];
  let units = 0;
  for (const entry of list) {
    if (typeof entry === 'object' && entry !== null && 'CapacityUnits' in entry) {
      const value = (entry as { CapacityUnits?: unknown }).CapacityUnits;
      if (typeof value === 'number') units += value;
    }
  }
  return units;
}

/**
 * A DynamoDB client that counts every command by name, with the items returned, the items scanned and
 * the capacity consumed (an SDK middleware at the `initialize` step asks for `ReturnConsumedCapacity:
 * TOTAL` and reads the answer). The code under test gets it like any client; nothing is mocked.
 */
export class CountingDynamoDbClient {
  readonly client: DynamoDBClient;
  private tallies = new Map<string, CommandTally>();

  constructor(endpoint: string) {
    this.client = new DynamoDBClient({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    this.client.middlewareStack.add(
      (next, context) => async (args) => {
        const name = String(context.commandName ?? 'unknown').replace(/Command$/, '');
        const input = args.input as Record<string, unknown>;
        if (DATA_COMMANDS.has(name) && input.ReturnConsumedCapacity === undefined)
          input.ReturnConsumedCapacity = 'TOTAL';
        const tally = this.tally(name);
        tally.calls += 1;
        const result = await next(args);
        const answer: object = result.output;
        const output = answer as Record<string, unknown>;
        if (typeof output.Count === 'number') tally.items += output.Count;
        else if (name === 'GetItem' && output.Item !== undefined) tally.items += 1;
        if (typeof output.ScannedCount === 'number') tally.scanned += output.ScannedCount;
        tally.capacityUnits += capacityOf(output);
        return result;
      },
      { step: 'initialize', name: 'benchCommandCounter' },
    );
  }

  /** A copy of the tallies since the last reset, by command name (`GetItem`, `Query`, …). */
  snapshot(): Record<string, CommandTally> {
    return Object.fromEntries([...this.tallies].map(([name, tally]) => [name, { ...tally }]));
  }

  reset(): void {
    this.tallies = new Map();
  }

  destroy(): void {
    this.client.destroy();
  }

  private tally(name: string): CommandTally {
    let tally = this.tallies.get(name);
    if (tally === undefined) {
      tally = { calls: 0, items: 0, scanned: 0, capacityUnits: 0 };
      this.tallies.set(name, tally);
    }
    return tally;
  }
}

/** Sum of `calls` over every command of a snapshot. */
export function totalCalls(snapshot: Record<string, CommandTally>): number {
  return Object.values(snapshot).reduce((sum, tally) => sum + tally.calls, 0);
}

/**
 * The DynamoDB Local to use: the one named by `AWS_ENDPOINT_URL_DYNAMODB` when it is a real local
 * server (the test suite's), otherwise a fresh in-memory one started here.
 */
export async function localDynamoDb(): Promise<{ endpoint: string; stop: () => Promise<void> }> {
  const configured = process.env.AWS_ENDPOINT_URL_DYNAMODB;
  if (configured !== undefined && configured !== '' && configured !== 'http://127.0.0.1:9') {
    return { endpoint: configured, stop: async () => undefined };
  }
  const server = await startDynamoDbServer();
  process.env.AWS_ENDPOINT_URL_DYNAMODB = server.endpoint;
  // The server is a child process: a Ctrl-C, a SIGTERM or a closed pipe (`| head`) must not leave it running.
  const interrupted = (signal: NodeJS.Signals) => {
    void server.stop().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') interrupted('SIGTERM');
  });
  return {
    endpoint: server.endpoint,
    stop: async () => {
      process.off('SIGINT', interrupted);
      process.off('SIGTERM', interrupted);
      await server.stop();
    },
  };
}
