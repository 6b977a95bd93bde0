import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { inject } from 'vitest';
import { makeTokenVendor } from '#functions/token-vendor.js';
import { type DynamoDbFaultProxy, startDynamoDbFaultProxy } from '#local/dynamodb-fault-proxy.js';
import { type BitrixEmulator, type EmulatorPortal, startBitrixEmulator } from '#local/emulator/index.js';
import { type LambdaInvokeServer, startLambdaInvokeServer } from '#local/lambda-invoke-server.js';
import { HttpPortalProbe } from '#shared/adapters/bitrix/portal-probe.js';
import { DynamoDbTokenRepository } from '#shared/adapters/dynamodb/token-repository.js';
import { DynamoDbTokenReader } from '#shared/consumer/dynamodb-token-reader.js';
import { BitrixRestClient, type BitrixRestClientOptions } from '#shared/consumer/rest-client.js';
import { TokenClient, type TokenClientOptions } from '#shared/consumer/token-client.js';
import { lambdaInvoke, TokenVendorClient } from '#shared/consumer/token-vendor-client.js';
import { MINUTE } from '#shared/core/domain/time.js';
import type { TokenSet } from '#shared/core/domain/token-set.js';
import type { RefreshDeps } from '#shared/core/use-cases/refresh-token-set.js';
import type { VendDeps } from '#shared/core/use-cases/vend-access-token.js';
import { loadConfig } from '#shared/runtime/config.js';
import { MemoryMetrics } from '#test/fakes/memory-metrics.js';
import { MemoryNotifications } from '#test/fakes/memory-notifications.js';
import { powertoolsLogger } from '#test/helpers/builders/loggers.js';
import { testRefreshSettings } from '#test/helpers/builders/refresh-settings.js';
import { emulatorOAuthClient, emulatorRefreshDeps } from './emulator-refresh.js';
import { type SeedOptions, seedPortal } from './seed-portal.js';
import { createTestTable, type TestTable } from './table.js';

/** Our app as the emulator knows it. */
export const APP = {
  clientId: 'local.consumer0000000001.11111111',
  clientSecret: 'ConsumerSecret0123456789abcdefghijklmnopqrstu',
};

/** The vendor's function name on the local Lambda endpoint. */
export const VENDOR_FUNCTION = 'token-vendor';

/**
 * The consumer library against the Bitrix24 emulator (over real HTTP) and DynamoDB Local, wired as in
 * AWS: the library reads the table and asks the token vendor — the deployed handler
 * (`functions/token-vendor.ts`), served on a local Lambda endpoint and called with the real Lambda
 * client — which refreshes through the one refresh path. Time is the emulator's (frozen) clock.
 *
 * Every DynamoDB request of the library (`libraryDb`) and of the vendor (`vendorDb`) passes a proxy on
 * the wire, so tests count them and see what each asks for; seeding and checks use the table directly.
 */
export interface ConsumerHarness {
  readonly emulator: BitrixEmulator;
  readonly table: TestTable;
  /** The table, directly (seeding and checks; not counted). */
  readonly repository: DynamoDbTokenRepository;
  readonly refresh: RefreshDeps;
  readonly vendorDeps: VendDeps;
  readonly notifications: MemoryNotifications;
  /** DynamoDB requests of the library, as they cross the wire. */
  readonly libraryDb: DynamoDbFaultProxy;
  /** DynamoDB requests of the vendor, as they cross the wire. */
  readonly vendorDb: DynamoDbFaultProxy;
  /** Forgets the requests and invocations counted so far. */
  resetCounts(): void;
  /** DynamoDB requests of the library and the vendor since the last reset. */
  dynamoDbRequests(): number;
  /** The local Lambda endpoint serving the vendor (invocations are counted there). */
  readonly lambda: LambdaInvokeServer;
  /** A new, independent library instance (own cache, own single-flight maps), as another process has. */
  tokenClient(options?: Partial<TokenClientOptions>): TokenClient;
  restClient(tokens: TokenClient, options?: Partial<BitrixRestClientOptions>): BitrixRestClient;
  /** What a consumer process needs in its environment to reach the same table and vendor. */
  consumerEnv(): Record<string, string>;
  /** A portal with the app installed and a chain for `userId` stored in the table (installed by that user). */
  seedPortal(domain: string, options?: SeedOptions): Promise<{ portal: EmulatorPortal; stored: TokenSet }>;
  stop(): Promise<void>;
}

/** `frozen: false` lets the emulator follow real time (for consumers in other processes). @default true */
export async function startConsumerHarness(options: { frozen?: boolean } = {}): Promise<ConsumerHarness> {
  const emulator = await startBitrixEmulator({ app: APP, clock: { frozen: options.frozen ?? true } });
  const table = await createTestTable('consumer');
  const libraryDb = await startDynamoDbFaultProxy({ target: inject('dynamoDbEndpoint') });
  const vendorDb = await startDynamoDbFaultProxy({ target: inject('dynamoDbEndpoint') });
  const libraryClient = new DynamoDBClient({ endpoint: libraryDb.endpoint });
  const vendorClient = new DynamoDBClient({ endpoint: vendorDb.endpoint });
  const repository = new DynamoDbTokenRepository({ client: table.client, tableName: table.tableName });
  const vendorRepository = new DynamoDbTokenRepository({ client: vendorClient, tableName: table.tableName });
  const notifications = new MemoryNotifications();
  const clock = (): number => emulator.clock.now();
  const refresh: RefreshDeps = emulatorRefreshDeps({
    emulator,
    client: vendorClient,
    tableName: table.tableName,
    repository: vendorRepository,
    oauth: emulatorOAuthClient(emulator, { credentials: APP, timeoutMs: 5000 }),
    credentials: APP,
    notifications,
    metrics: new MemoryMetrics(),
    settings: testRefreshSettings(),
    // As deployed: the vendor answers a waiting consumer and records nothing about our credentials.
    recordCredentials: false,
  });
  const vendorDeps: VendDeps = {
    tokens: vendorRepository,
    refresh,
    probe: new HttpPortalProbe({ urlRewrites: emulator.urlRewrites, timeoutMs: 5000 }),
    settings: { minValidityMs: 5 * MINUTE, touchThrottleMs: 15 * MINUTE },
  };
  const lambda = await startLambdaInvokeServer({
    functions: {
      [VENDOR_FUNCTION]: makeTokenVendor({
        vendor: vendorDeps,
        logger: powertoolsLogger(),
        metrics: new MemoryMetrics(),
        config: loadConfig({}),
      }),
    },
  });
  const lambdaClient = new LambdaClient({ endpoint: lambda.endpoint });
  const reader = new DynamoDbTokenReader({ client: libraryClient, tableName: table.tableName });
  const total = (proxy: DynamoDbFaultProxy) => Object.values(proxy.counts.requests).reduce((sum, n) => sum + n, 0);
  const vendor = new TokenVendorClient(lambdaInvoke(lambdaClient, VENDOR_FUNCTION));
  return {
    emulator,
    table,
    repository,
    refresh,
    vendorDeps,
    notifications,
    libraryDb,
    vendorDb,
    lambda,
    resetCounts: () => {
      libraryDb.resetCounts();
      vendorDb.resetCounts();
      lambda.resetCounts();
    },
    dynamoDbRequests: () => total(libraryDb) + total(vendorDb),
    tokenClient: (options = {}) => new TokenClient({ reader, vendor, now: clock, ...options }),
    restClient: (tokens, options = {}) =>
      new BitrixRestClient({
        tokens,
        urlRewrites: emulator.urlRewrites,
        timeoutMs: 5000,
        sleep: async () => undefined,
        ...options,
      }),
    consumerEnv: () => ({
      BITRIX24_TOKEN_TABLE: table.tableName,
      BITRIX24_TOKEN_VENDOR: VENDOR_FUNCTION,
      AWS_ENDPOINT_URL_LAMBDA: lambda.endpoint,
      AWS_ENDPOINT_URL_DYNAMODB: libraryDb.endpoint,
      BITRIX_URL_REWRITES: JSON.stringify(emulator.urlRewrites),
    }),
    seedPortal: (domain, options = {}) => seedPortal(emulator, repository, domain, options),
    stop: async () => {
      lambdaClient.destroy();
      libraryClient.destroy();
      vendorClient.destroy();
      await lambda.stop();
      await libraryDb.stop();
      await vendorDb.stop();
      await emulator.stop();
      await table.drop();
    },
  };
}
