import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { inject } from 'vitest';
import { type DynamoDbFaultProxy, startDynamoDbFaultProxy } from '#local/dynamodb-fault-proxy.js';

/** Limits for clients behind the fault proxy: short, so a hung call ends quickly in a test, yet long enough for a loaded machine. */
export const TEST_DYNAMODB_LIMITS = { requestTimeoutMs: 1000, connectionTimeoutMs: 500, maxAttempts: 3 } as const;

/**
 * The run's DynamoDB Local behind a fault proxy, and a client that reaches it through the proxy with
 * production-shaped limits (request and connection timeouts, SDK retries). Seed data with a plain
 * client; give the code under test `client`.
 */
export interface FaultyDynamoDb {
  readonly proxy: DynamoDbFaultProxy;
  readonly client: DynamoDBClient;
  stop(): Promise<void>;
}

export async function startFaultyDynamoDb(
  options: {
    seed?: number;
    limits?: { requestTimeoutMs: number; connectionTimeoutMs: number; maxAttempts: number };
  } = {},
): Promise<FaultyDynamoDb> {
  const proxy = await startDynamoDbFaultProxy({ target: inject('dynamoDbEndpoint'), seed: options.seed ?? 1 });
  const limits = options.limits ?? TEST_DYNAMODB_LIMITS;
  const client = new DynamoDBClient({
    endpoint: proxy.endpoint,
    maxAttempts: limits.maxAttempts,
    requestHandler: {
      requestTimeout: limits.requestTimeoutMs,
      connectionTimeout: limits.connectionTimeoutMs,
      throwOnRequestTimeout: true,
    },
  });
  return {
    proxy,
    client,
    async stop() {
      client.destroy();
      await proxy.stop();
    },
  };
}

/** The UpdateItem of a refresh lease (`acquireLease`). */
export const isLeaseWrite = (r: { operation: string; body: Readonly<Record<string, unknown>> }): boolean =>
  r.operation === 'UpdateItem' && String(r.body.UpdateExpression).startsWith('SET #leaseOwner = :leaseOwner');

/** The UpdateItem that stores a refreshed pair (`completeRefresh`). */
export const isRefreshedPairWrite = (r: { operation: string; body: Readonly<Record<string, unknown>> }): boolean =>
  r.operation === 'UpdateItem' && String(r.body.UpdateExpression).includes('#lastRefreshAt = :lastRefreshAt');
