import type { ParkedEventRepository } from '#shared/core/ports/parked-event-repository.js';

/**
 * A local stand-in for a Lambda event source mapping on the token table's stream: reads DynamoDB
 * Local's stream (the DynamoDB Streams API, which DynamoDB Local serves on its own endpoint), applies
 * the same filter pattern the deployed mapping has, and hands batches to the function's handler in the
 * shape Lambda does. Used by `npm start` and by tests, so a parked claim is finished the way it is in
 * AWS: by the stream, not by a test calling the processor.
 *
 * @example
 * const stream = await startTableStream({ endpoint, tableName, filter: PARKED_CLAIM_STREAM_FILTER,
 *   handle: (event) => handler(event, context) });
 * await stream.drain(); // every record written so far has been handled
 */

/**
 * The condition for draining the parked-claims stream: every parked claim was taken (finished, or
 * waiting for a later attempt), none is due at `now`.
 */
export async function noParkedClaimDue(
  parked: Pick<ParkedEventRepository, 'queryDue' | 'shards'>,
  now: number,
): Promise<boolean> {
  for (let shard = 0; shard < parked.shards; shard += 1) {
    if ((await parked.queryDue(shard, now, 1)).length > 0) return false;
  }
  return true;
}

/** A Lambda filter pattern, in the subset used here: exact values and `{ prefix }`. */
export type FilterPattern = {
  readonly [key: string]: FilterPattern | readonly (string | { readonly prefix: string })[];
};

/** A stream record as DynamoDB Streams and Lambda present it. */
export interface StreamRecordWire {
  readonly eventID?: string;
  readonly eventName?: string;
  readonly dynamodb?: { readonly Keys?: unknown; readonly SequenceNumber?: string };
}

export interface TableStreamOptions {
  /** DynamoDB Local's endpoint, e.g. `http://127.0.0.1:8000`. */
  readonly endpoint: string;
  readonly tableName: string;
  readonly filter: FilterPattern;
  /** The function's handler; a batch that throws is logged and skipped (the schedule retries its work). */
  readonly handle: (event: { readonly Records: StreamRecordWire[] }) => Promise<unknown>;
  /** @default 100 */
  readonly pollMs?: number;
  /** Records per invocation. @default 10 */
  readonly batchSize?: number;
  readonly onError?: (error: unknown) => void;
}

export interface TableStream {
  /**
   * Resolves once a full read of every shard, begun after the call, found no matching record left to
   * hand over (records the handlers' own writes produced included) and `settled` (what the records
   * were written for is done: a stream shows a write a moment after it) holds. Throws after `timeoutMs`.
   */
  drain(settled?: () => Promise<boolean>, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** Whether a record matches a Lambda filter pattern (every key present and one of its values). */
export function matchesFilter(value: unknown, pattern: FilterPattern): boolean {
  if (typeof value !== 'object' || value === null) return false;
  return Object.entries(pattern).every(([key, expected]) => {
    const actual = (value as Record<string, unknown>)[key];
    if (!Array.isArray(expected)) return matchesFilter(actual, expected as FilterPattern);
    return expected.some((candidate) =>
      typeof candidate === 'string'
        ? actual === candidate
        : typeof actual === 'string' && actual.startsWith(candidate.prefix),
    );
  });
}

/** How long after a write its record may take to show in DynamoDB Local's stream. */
const QUIET_MS = 300;
/** How often the stream's shard list is read again. */
const DISCOVER_EVERY_MS = 2_000;

export async function startTableStream(options: TableStreamOptions): Promise<TableStream> {
  const pollMs = options.pollMs ?? 100;
  const batchSize = options.batchSize ?? 10;
  const call = jsonClient(options.endpoint);
  const table = await call<{ Table?: { LatestStreamArn?: string } }>('DynamoDB_20120810.DescribeTable', {
    TableName: options.tableName,
  });
  const streamArn = table.Table?.LatestStreamArn;
  if (streamArn === undefined) throw new Error(`table ${options.tableName} has no stream`);

  /** Open shard → its next iterator. Shards open at start are read from now on; later ones from their start. */
  const iterators = new Map<string, string>();
  const seen = new Set<string>();
  const discover = async (position: 'LATEST' | 'TRIM_HORIZON') => {
    const described = await call<{ StreamDescription?: { Shards?: { ShardId: string }[] } }>(
      'DynamoDBStreams_20120810.DescribeStream',
      { StreamArn: streamArn },
    );
    for (const { ShardId } of described.StreamDescription?.Shards ?? []) {
      if (seen.has(ShardId)) continue;
      seen.add(ShardId);
      const { ShardIterator } = await call<{ ShardIterator?: string }>('DynamoDBStreams_20120810.GetShardIterator', {
        StreamArn: streamArn,
        ShardId,
        ShardIteratorType: position,
      });
      if (ShardIterator !== undefined) iterators.set(ShardId, ShardIterator);
    }
  };
  await discover('LATEST');

  let stopped = false;
  const cycleWaiters: ((cycle: { readonly startedAt: number; readonly found: number }) => void)[] = [];
  let discoveredAt = Date.now();
  const cycle = async (): Promise<number> => {
    let found = 0;
    // New shards appear when one closes (rarely): look for them now and then, not on every read.
    if (iterators.size === 0 || Date.now() - discoveredAt > DISCOVER_EVERY_MS) {
      await discover('TRIM_HORIZON');
      discoveredAt = Date.now();
    }
    for (const [shard, iterator] of [...iterators]) {
      let page: { Records?: StreamRecordWire[]; NextShardIterator?: string };
      try {
        page = await call('DynamoDBStreams_20120810.GetRecords', { ShardIterator: iterator, Limit: 100 });
      } catch (error) {
        // An expired or trimmed iterator: read the shard again from its start (handlers are idempotent).
        iterators.delete(shard);
        seen.delete(shard);
        throw error;
      }
      if (page.NextShardIterator === undefined) iterators.delete(shard);
      else iterators.set(shard, page.NextShardIterator);
      const records = (page.Records ?? []).filter((record) => matchesFilter(record, options.filter));
      found += records.length;
      for (let start = 0; start < records.length; start += batchSize) {
        try {
          await options.handle({ Records: records.slice(start, start + batchSize) });
        } catch (error) {
          options.onError?.(error);
        }
      }
    }
    return found;
  };
  const loop = (async () => {
    while (!stopped) {
      const startedAt = Date.now();
      let found = 0;
      try {
        found = await cycle();
      } catch (error) {
        if (!stopped) options.onError?.(error);
      }
      for (const waiter of cycleWaiters.splice(0)) waiter({ startedAt, found });
      if (found === 0 && !stopped) await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  })();

  const nextCycle = () =>
    new Promise<{ readonly startedAt: number; readonly found: number }>((resolve) => cycleWaiters.push(resolve));
  return {
    drain: async (settled, timeoutMs = 30_000) => {
      const giveUpAt = Date.now() + timeoutMs;
      // Without a condition, quiet for a while is the best sign that every write has shown.
      let quietFrom = Date.now() + (settled === undefined ? QUIET_MS : 0);
      for (;;) {
        const { startedAt, found } = await nextCycle();
        if (stopped) return;
        if (found > 0) quietFrom = Date.now() + (settled === undefined ? QUIET_MS : 0);
        else if (startedAt >= quietFrom && (settled === undefined || (await settled()))) return;
        if (Date.now() > giveUpAt) throw new Error(`the table stream did not settle within ${timeoutMs} ms`);
      }
    },
    stop: async () => {
      stopped = true;
      for (const waiter of cycleWaiters.splice(0)) waiter({ startedAt: Date.now(), found: 0 });
      await loop;
    },
  };
}

/**
 * The DynamoDB JSON protocol over fetch, enough for DynamoDB Local (which runs with `-sharedDb` and
 * does not check signatures, though it wants an Authorization header).
 */
function jsonClient(endpoint: string) {
  return async <T>(target: string, body: unknown): Promise<T> => {
    const response = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': target,
        authorization: `AWS4-HMAC-SHA256 Credential=${['local', '20260101', 'us-east-1', 'dynamodb', 'aws4_request'].join('/')}, SignedHeaders=host, Signature=0`,
      },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${target} failed with HTTP ${response.status}: ${text.slice(0, 200)}`);
    return JSON.parse(text) as T;
  };
}
