import { performance } from 'node:perf_hooks';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { type CommandTally, totalCalls } from '#bench/lib/dynamodb.js';
import type { Results } from '#bench/lib/results.js';
import { distribution } from '#bench/lib/stats.js';
import { World } from '#bench/lib/world.js';
import { startLambdaInvokeServer } from '#local/lambda-invoke-server.js';
import { createTokenConsumer, loadConsumerSettings } from '#shared/consumer/index.js';
import type { TokenKey } from '#shared/core/domain/token-set.js';
import { SILENT_LOGGER } from '#shared/core/ports/logger.js';

export interface ConsumerReadOptions {
  readonly endpoint: string;
  /** Reads per mode. */
  readonly warmReads: number;
  readonly uncachedReads: number;
  readonly coldReads: number;
  /** Readers meeting one expired token. */
  readonly readers: number;
  /** Latency of the authorization server while they do. */
  readonly tokenLatencyMs: number;
}

async function timed(reads: number, read: () => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < reads; i += 1) {
    const started = performance.now();
    await read();
    samples.push(performance.now() - started);
  }
  return samples;
}

function requestsPer(snapshot: Record<string, CommandTally>, n: number): number {
  return Number((totalCalls(snapshot) / n).toFixed(3));
}

/** The vendor's name on the local Lambda endpoint. */
const VENDOR = 'token-vendor';

/**
 * Benchmark 3: what a consumer Lambda waits for an access token, with the token vendor in the path as
 * deployed: the library reads the table itself and asks the vendor (the deployed handler, behind a
 * local Lambda `Invoke` endpoint, called with the real Lambda client over HTTP) when a token is
 * missing, expiring or refused. Warm: the process cache answers. Uncached: every read goes to the
 * table (`CONSUMER_CACHE_SECONDS=0`, user named). Cold: a new library instance per read without a user
 * (a cold start: one query for the portal, and an asynchronous record of use through the vendor).
 * Then N readers meet one expired token, as N invocations in one process (one library instance, with
 * and without the user named), and as N processes' worth of instances (separate caches, so N vendor
 * invocations): how many calls reach the authorization server and the vendor, how many DynamoDB
 * requests the library and the vendor make together, and how long the readers wait.
 */
export async function benchConsumerReads(options: ConsumerReadOptions, results: Results): Promise<void> {
  const world = await World.start({ endpoint: options.endpoint, name: 'bench-consumer' });
  const lambda = await startLambdaInvokeServer({ functions: { [VENDOR]: world.vendorHandler() } });
  const lambdaClient = new LambdaClient({ endpoint: lambda.endpoint });
  try {
    const [steady, oneInstance, userNamed, manyInstances] = await world.seedChains(world.addPortals(4), {
      due: false,
      installations: true,
    });
    if (steady === undefined || oneInstance === undefined || userNamed === undefined || manyInstances === undefined) {
      throw new Error('seed failed');
    }
    // The library's reads and the vendor's go through the same counting client: the totals are both.
    const consumer = (env: Record<string, string> = {}, lambdaOfContainer = lambdaClient) =>
      createTokenConsumer({
        settings: loadConsumerSettings({
          BITRIX24_TOKEN_TABLE: world.tableName,
          BITRIX24_TOKEN_VENDOR: VENDOR,
          ...env,
        }),
        dynamoDb: world.dynamodb.client,
        lambda: lambdaOfContainer,
        now: world.clock,
        logger: SILENT_LOGGER,
      }).tokens;
    const settled = async () => {
      await lambda.settle();
      return world.dynamodb.snapshot();
    };

    // Warm cache.
    const warm = consumer();
    await warm.getAccessToken({ memberId: steady.memberId });
    world.dynamodb.reset();
    const warmSamples = await timed(options.warmReads, () => warm.getAccessToken({ memberId: steady.memberId }));
    const warmRequests = requestsPer(await settled(), options.warmReads);

    // Uncached, user named: one consistent GetItem per read.
    const uncached = consumer({ CONSUMER_CACHE_SECONDS: '0' });
    await uncached.getAccessToken(steady);
    await lambda.settle();
    world.dynamodb.reset();
    const uncachedSamples = await timed(options.uncachedReads, () => uncached.getAccessToken(steady));
    const uncachedRequests = requestsPer(await settled(), options.uncachedReads);

    // Cold: a new instance per read, no user named.
    world.dynamodb.reset();
    lambda.resetCounts();
    const coldSamples = await timed(options.coldReads, () => consumer().getAccessToken({ memberId: steady.memberId }));
    const coldRequests = requestsPer(await settled(), options.coldReads);
    const coldInvocations = Object.values(lambda.counts).reduce((sum, n) => sum + n, 0) / options.coldReads;

    const modes = [
      ['warm', warmSamples, warmRequests, 'cache hit in the process'],
      ['uncached', uncachedSamples, uncachedRequests, 'token table read (user named)'],
      ['cold', coldSamples, coldRequests, 'new library instance, default user looked up'],
    ] as const;
    const invocationsPerRead = { warm: 0, uncached: 0, cold: coldInvocations };
    const readDetails: Record<string, unknown> = {};
    for (const [mode, samples, requests, what] of modes) {
      const d = distribution(samples, 4);
      const params = {
        reads: samples.length,
        dynamodbRequestsPerRead: requests,
        vendorInvocationsPerRead: invocationsPerRead[mode],
      };
      results.add('consumer', `consumer.${mode}.median`, `getAccessToken median, ${what}`, d.median, 'ms', params);
      results.add('consumer', `consumer.${mode}.p95`, `getAccessToken p95, ${what}`, d.p95, 'ms', params);
      results.add('consumer', `consumer.${mode}.p99`, `getAccessToken p99, ${what}`, d.p99, 'ms', params);
      readDetails[mode] = {
        ...d,
        dynamodbRequestsPerRead: requests,
        vendorInvocationsPerRead: invocationsPerRead[mode],
      };
    }

    // N readers, one expired token.
    world.emulator.clock.advance(61 * 60_000);
    world.emulator.faults.set('token', { latencyMs: options.tokenLatencyMs });
    const stampede = async (key: TokenKey, instances: 'one' | 'many', nameUser: boolean) => {
      world.emulator.resetCounters();
      await lambda.settle();
      world.dynamodb.reset();
      lambda.resetCounts();
      const shared = consumer();
      // Containers do not share a Lambda client (nor its connection pool of 50 sockets).
      const ownClients: LambdaClient[] = [];
      const waits = await Promise.all(
        Array.from({ length: options.readers }, async () => {
          const own = instances === 'one' ? undefined : new LambdaClient({ endpoint: lambda.endpoint });
          if (own !== undefined) ownClients.push(own);
          const client = own === undefined ? shared : consumer({}, own);
          const started = performance.now();
          await client.getAccessToken(nameUser ? key : { memberId: key.memberId });
          return performance.now() - started;
        }),
      );
      const snapshot = await settled();
      for (const own of ownClients) own.destroy();
      const outcomes = world.refreshOutcomes();
      return {
        authorizationServerCalls: Object.values(outcomes).reduce((sum, n) => sum + n, 0),
        outcomes,
        vendorInvocations: { ...lambda.counts },
        dynamodbRequests: totalCalls(snapshot),
        dynamodbByCommand: Object.fromEntries(Object.entries(snapshot).map(([name, t]) => [name, t.calls])),
        waitMs: distribution(waits, 1),
      };
    };
    const one = await stampede(oneInstance, 'one', false);
    const oneNamed = await stampede(userNamed, 'one', true);
    const many = await stampede(manyInstances, 'many', false);
    for (const [label, run, what] of [
      ['oneInstance', one, `${options.readers} concurrent invocations, one library instance`],
      [
        'oneInstanceUserNamed',
        oneNamed,
        `${options.readers} concurrent invocations naming the user, one library instance`,
      ],
      ['manyInstances', many, `${options.readers} library instances (separate caches)`],
    ] as const) {
      const params = { readers: options.readers, tokenLatencyMs: options.tokenLatencyMs };
      results.add(
        'consumer',
        `consumer.expired.${label}.authCalls`,
        `calls to the authorization server: ${what} meet one expired token`,
        run.authorizationServerCalls,
        'calls',
        params,
      );
      results.add(
        'consumer',
        `consumer.expired.${label}.dynamodb`,
        `DynamoDB requests (library and vendor): ${what} meet one expired token`,
        run.dynamodbRequests,
        'requests',
        { ...params, byCommand: JSON.stringify(run.dynamodbByCommand) },
      );
      results.add(
        'consumer',
        `consumer.expired.${label}.vendorCalls`,
        `token vendor invocations that waited for an answer: ${what} meet one expired token`,
        run.vendorInvocations[`${VENDOR}:RequestResponse`] ?? 0,
        'invocations',
        params,
      );
      results.add(
        'consumer',
        `consumer.expired.${label}.waitMedian`,
        `reader wait, median: ${what}`,
        run.waitMs.median,
        'ms',
        params,
      );
      results.add(
        'consumer',
        `consumer.expired.${label}.waitMax`,
        `reader wait, max: ${what}`,
        run.waitMs.max,
        'ms',
        params,
      );
    }
    results.detail('consumerReads', {
      reads: readDetails,
      expiredToken: { oneInstance: one, oneInstanceUserNamed: oneNamed, manyInstances: many },
    });
    process.stdout.write(
      `  consumer: warm median ${readDetails.warm ? (readDetails.warm as { median: number }).median : '?'} ms; ${options.readers} readers → ${one.authorizationServerCalls} / ${many.authorizationServerCalls} auth calls\n`,
    );
  } finally {
    lambdaClient.destroy();
    await lambda.stop();
    await world.stop();
  }
}
