import { performance } from 'node:perf_hooks';
import { type CommandTally, totalCalls } from '#bench/lib/dynamodb.js';
import type { Results } from '#bench/lib/results.js';
import { distribution } from '#bench/lib/stats.js';
import { World } from '#bench/lib/world.js';
import type { TokenKey } from '#shared/core/domain/token-set.js';
import { SILENT_LOGGER } from '#shared/core/ports/logger.js';
import { loadConfig } from '#shared/runtime/config.js';
import { createTokenConsumer } from '#shared/runtime/consumer.js';

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

/**
 * Benchmark 3: what a consumer Lambda waits for an access token. Warm: the process cache answers.
 * Uncached: every read goes to the table (`CONSUMER_CACHE_SECONDS=0`, user named). Cold: a new library
 * instance per read without a user (a cold start: installation, token-set list, token set, touch).
 * Then N readers meet one expired token, first as N invocations in one process (one library
 * instance), then as N processes' worth of instances (separate caches): how many calls reach the
 * authorization server, and how long the readers wait.
 */
export async function benchConsumerReads(options: ConsumerReadOptions, results: Results): Promise<void> {
  const world = await World.start({ endpoint: options.endpoint, name: 'bench-consumer' });
  try {
    const [steady, oneInstance, userNamed, manyInstances] = await world.seedChains(world.addPortals(4), {
      due: false,
      installations: true,
    });
    if (steady === undefined || oneInstance === undefined || userNamed === undefined || manyInstances === undefined) {
      throw new Error('seed failed');
    }
    const consumer = (env: Record<string, string> = {}) =>
      createTokenConsumer({
        config: loadConfig({ TABLE_NAME: world.tableName, ...env }),
        refresh: world.deps,
        store: world.repository,
        logger: SILENT_LOGGER,
      }).tokens;

    // Warm cache.
    const warm = consumer();
    await warm.getAccessToken({ memberId: steady.memberId });
    world.dynamodb.reset();
    const warmSamples = await timed(options.warmReads, () => warm.getAccessToken({ memberId: steady.memberId }));
    const warmRequests = requestsPer(world.dynamodb.snapshot(), options.warmReads);

    // Uncached, user named: one consistent GetItem per read.
    const uncached = consumer({ CONSUMER_CACHE_SECONDS: '0' });
    await uncached.getAccessToken(steady);
    world.dynamodb.reset();
    const uncachedSamples = await timed(options.uncachedReads, () => uncached.getAccessToken(steady));
    const uncachedRequests = requestsPer(world.dynamodb.snapshot(), options.uncachedReads);

    // Cold: a new instance per read, no user named.
    world.dynamodb.reset();
    const coldSamples = await timed(options.coldReads, () => consumer().getAccessToken({ memberId: steady.memberId }));
    const coldRequests = requestsPer(world.dynamodb.snapshot(), options.coldReads);

    const modes = [
      ['warm', warmSamples, warmRequests, 'cache hit in the process'],
      ['uncached', uncachedSamples, uncachedRequests, 'token table read (user named)'],
      ['cold', coldSamples, coldRequests, 'new library instance, default user looked up'],
    ] as const;
    const readDetails: Record<string, unknown> = {};
    for (const [mode, samples, requests, what] of modes) {
      const d = distribution(samples, 4);
      const params = { reads: samples.length, dynamodbRequestsPerRead: requests };
      results.add('consumer', `consumer.${mode}.median`, `getAccessToken median, ${what}`, d.median, 'ms', params);
      results.add('consumer', `consumer.${mode}.p95`, `getAccessToken p95, ${what}`, d.p95, 'ms', params);
      results.add('consumer', `consumer.${mode}.p99`, `getAccessToken p99, ${what}`, d.p99, 'ms', params);
      readDetails[mode] = { ...d, dynamodbRequestsPerRead: requests };
    }

    // N readers, one expired token.
    world.emulator.clock.advance(61 * 60_000);
    world.emulator.faults.set('token', { latencyMs: options.tokenLatencyMs });
    const stampede = async (key: TokenKey, instances: 'one' | 'many', nameUser: boolean) => {
      world.emulator.resetCounters();
      world.dynamodb.reset();
      const shared = consumer();
      const waits = await Promise.all(
        Array.from({ length: options.readers }, async () => {
          const client = instances === 'one' ? shared : consumer();
          const started = performance.now();
          await client.getAccessToken(nameUser ? key : { memberId: key.memberId });
          return performance.now() - started;
        }),
      );
      const outcomes = world.refreshOutcomes();
      return {
        authorizationServerCalls: Object.values(outcomes).reduce((sum, n) => sum + n, 0),
        outcomes,
        dynamodbRequests: totalCalls(world.dynamodb.snapshot()),
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
        `DynamoDB requests: ${what} meet one expired token`,
        run.dynamodbRequests,
        'requests',
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
    await world.stop();
  }
}
