import { afterAll, beforeAll } from 'vitest';
import { makeAppEvents } from '#functions/app-events.js';
import { makeInstallPage } from '#functions/install-page.js';
import { makeProcessParkedEvents } from '#functions/process-parked-events.js';
import { type BitrixEmulator, startBitrixEmulator } from '#local/emulator/index.js';
import { type LambdaHttpServer, localContext, startLambdaHttpServer } from '#local/lambda-http-server.js';
import { noParkedClaimDue, startTableStream, type TableStream } from '#local/table-stream.js';
import { HttpBitrixOAuthClient } from '#shared/adapters/bitrix/oauth-client.js';
import { HttpPortalProfile } from '#shared/adapters/bitrix/portal-profile.js';
import { DynamoDbCredentialsHealth } from '#shared/adapters/dynamodb/credentials-health.js';
import { DynamoDbParkedEventRepository } from '#shared/adapters/dynamodb/parked-event-repository.js';
import { PARKED_CLAIM_STREAM_FILTER } from '#shared/adapters/dynamodb/table-schema.js';
import { DynamoDbTokenRepository } from '#shared/adapters/dynamodb/token-repository.js';
import { PARKED_RETRY_SPREAD } from '#shared/core/domain/parked-event.js';
import { DAY, HOUR, MINUTE } from '#shared/core/domain/time.js';
import { SILENT_LOGGER } from '#shared/core/ports/logger.js';
import { defaultNextRefreshAt } from '#shared/core/use-cases/complete-authorization.js';
import type { FinishParkedEventsSummary } from '#shared/core/use-cases/finish-parked-events.js';
import type { HandleAppEventDeps } from '#shared/core/use-cases/handle-app-event.js';
import type { OpenInstallPageDeps } from '#shared/core/use-cases/open-install-page.js';
import { watchCredentials } from '#shared/core/use-cases/watch-credentials.js';
import { MemoryMetrics } from '#test/fakes/memory-metrics.js';
import { MemoryNotifications } from '#test/fakes/memory-notifications.js';
import { powertoolsLogger } from '#test/helpers/builders/loggers.js';
import { testRefreshSettings } from '#test/helpers/builders/refresh-settings.js';
import { emulatorRefreshDeps } from './emulator-refresh.js';
import type { FaultyDynamoDb } from './faulty-dynamodb.js';
import { createTestTable, readWholeTable, type TestTable } from './table.js';
/** Our app in the emulator, and another registered app whose tokens must never be accepted. */
export const OUR_APP = {
  clientId: 'local.lifecycle00000001.11111111',
  clientSecret: 'OurSecret0123456789abcdefghijklmnopqrstuvwxyz01',
};
export const OTHER_APP = {
  clientId: 'app.lifecycle00000002.22222222',
  clientSecret: 'OtherSecret0123456789abcdefghijklmnopqrstuvwxy',
};

/**
 * The lifecycle endpoints served over HTTP (API Gateway v2 shape) against DynamoDB Local and the
 * Bitrix24 emulator, wired as the deployed functions are, except that time is the emulator's clock.
 */
export interface LifecycleHarness {
  readonly emulator: BitrixEmulator;
  readonly table: TestTable;
  readonly server: LambdaHttpServer;
  /** The functions' dependencies (through the fault proxy when there is one). */
  readonly deps: OpenInstallPageDeps & HandleAppEventDeps;
  /** Direct to DynamoDB Local, for preparing and asserting. */
  readonly tokens: DynamoDbTokenRepository;
  readonly parked: DynamoDbParkedEventRepository;
  readonly metrics: MemoryMetrics;
  readonly notifications: MemoryNotifications;
  /** Runs the scheduled parked-claims function once. */
  processParked(): Promise<FinishParkedEventsSummary>;
  /**
   * Waits until the table stream has handed every claim parked so far to process-parked-events and
   * those runs ended (what happens within a second in AWS after an event's 202).
   */
  settle(): Promise<void>;
  /** Every item of the table, for before/after comparisons. */
  snapshot(): Promise<Record<string, unknown>[]>;
  stop(): Promise<void>;
}

export interface LifecycleHarnessOptions {
  /** Timeout of the authorization-server client. @default 8000 (the production default) */
  readonly oauthTimeoutMs?: number;
  /** The functions reach DynamoDB through this fault proxy; `tokens` and `parked` of the harness do not. */
  readonly faults?: FaultyDynamoDb;
}

export async function startLifecycleHarness(options: LifecycleHarnessOptions = {}): Promise<LifecycleHarness> {
  const emulator = await startBitrixEmulator({ apps: [OUR_APP, OTHER_APP] });
  const table = await createTestTable('lifecycle');
  const tokens = new DynamoDbTokenRepository({ client: table.client, tableName: table.tableName });
  const parked = new DynamoDbParkedEventRepository({ client: table.client, tableName: table.tableName, shards: 2 });
  const through = options.faults?.client ?? table.client;
  const allowedAuthServers = ['oauth.bitrix.info', 'oauth.bitrix24.tech'];
  const notifications = new MemoryNotifications();
  const metrics = new MemoryMetrics();
  const functionTokens =
    options.faults === undefined
      ? tokens
      : new DynamoDbTokenRepository({ client: through, tableName: table.tableName });
  // As wired in production: the lifecycle's authorization-server client records our credentials'
  // acceptances, and the uninstall proof runs the one refresh path.
  const oauth = watchCredentials(
    new HttpBitrixOAuthClient({
      credentials: { get: async () => OUR_APP },
      allowedAuthServers,
      urlRewrites: emulator.urlRewrites,
      timeoutMs: options.oauthTimeoutMs ?? 8000,
      now: () => emulator.clock.now(),
    }),
    {
      health: new DynamoDbCredentialsHealth({
        client: through,
        tableName: table.tableName,
        credentials: { get: async () => OUR_APP },
      }),
      now: () => emulator.clock.now(),
      everyMs: MINUTE,
      logger: SILENT_LOGGER,
    },
  );
  const refresh = emulatorRefreshDeps({
    emulator,
    client: through,
    tableName: table.tableName,
    repository: functionTokens,
    oauth,
    credentials: OUR_APP,
    recordCredentials: false,
    notifications,
    metrics,
    settings: testRefreshSettings(),
  });
  const deps: OpenInstallPageDeps & HandleAppEventDeps = {
    tokens: functionTokens,
    parked:
      options.faults === undefined
        ? parked
        : new DynamoDbParkedEventRepository({ client: through, tableName: table.tableName, shards: 2 }),
    oauth,
    refresh,
    credentials: refresh.credentials,
    allowedAuthServers,
    refreshTokenLifetimeMs: 30 * DAY,
    nextRefreshAt: defaultNextRefreshAt,
    parking: { retry: { baseMs: MINUTE, maxMs: HOUR, spread: PARKED_RETRY_SPREAD }, maxAgeMs: 7 * DAY },
    receiptTtlSeconds: 48 * 3600,
    defaultServerEndpoint: 'https://oauth.bitrix.info/rest/',
    profiles: new HttpPortalProfile({ urlRewrites: emulator.urlRewrites, timeoutMs: 5000 }),
    notifications,
    metrics,
    logger: SILENT_LOGGER,
    now: () => emulator.clock.now(),
    random: () => 0,
  };
  const functionDeps = {
    lifecycle: deps,
    logger: powertoolsLogger(),
    metrics,
    config: {
      LIFECYCLE_BODY_MAX_BYTES: 65_536,
      BX24_LIBRARY_URL: '//api.bitrix24.com/api/v1/',
      BITRIX_URL_REWRITES: emulator.urlRewrites,
    },
  };
  const installPage = makeInstallPage(functionDeps);
  const server = await startLambdaHttpServer({
    'POST /bitrix/events': makeAppEvents(functionDeps),
    'GET /bitrix/install': installPage,
    'POST /bitrix/install': installPage,
  });
  for (const app of [OUR_APP, OTHER_APP]) {
    emulator.updateApp(
      { eventHandlerUrl: `${server.url}/bitrix/events`, installUrl: `${server.url}/bitrix/install` },
      app.clientId,
    );
  }
  const processParked = makeProcessParkedEvents(functionDeps);
  const stream: TableStream = await startTableStream({
    endpoint: endpointOfDynamoDbLocal(),
    tableName: table.tableName,
    filter: PARKED_CLAIM_STREAM_FILTER,
    handle: (event) => processParked(event, localContext('process-parked-events', 60_000)),
  });
  return {
    emulator,
    table,
    server,
    deps,
    tokens,
    parked,
    metrics,
    notifications,
    processParked: async () =>
      (await processParked(undefined, localContext('process-parked-events', 60_000))) as FinishParkedEventsSummary,
    settle: () => stream.drain(() => noParkedClaimDue(parked, deps.now())),
    snapshot: () => readWholeTable(table.client, table.tableName),
    stop: async () => {
      await stream.stop();
      await server.stop();
      await emulator.stop();
      await table.drop();
    },
  };
}

/**
 * One lifecycle harness for the calling test file: started in `beforeAll`, stopped in `afterAll`. The
 * returned object reads through to it, so use it only inside hooks and tests.
 */
export function useLifecycleHarness(options: LifecycleHarnessOptions = {}): LifecycleHarness {
  let started: LifecycleHarness | undefined;
  const current = (): LifecycleHarness => {
    if (started === undefined) throw new Error('the lifecycle harness is not running');
    return started;
  };
  beforeAll(async () => {
    started = await startLifecycleHarness(options);
  });
  afterAll(async () => {
    await current().stop();
  });
  return {
    get emulator() {
      return current().emulator;
    },
    get table() {
      return current().table;
    },
    get server() {
      return current().server;
    },
    get deps() {
      return current().deps;
    },
    get tokens() {
      return current().tokens;
    },
    get parked() {
      return current().parked;
    },
    get notifications() {
      return current().notifications;
    },
    get metrics() {
      return current().metrics;
    },
    processParked: () => current().processParked(),
    settle: () => current().settle(),
    snapshot: () => current().snapshot(),
    stop: () => current().stop(),
  };
}

/** The run's DynamoDB Local, as the test setup points every SDK client at it. */
function endpointOfDynamoDbLocal(): string {
  const endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB;
  if (endpoint === undefined) throw new Error('AWS_ENDPOINT_URL_DYNAMODB is not set: run through vitest');
  return endpoint;
}
