import { afterAll, beforeAll } from 'vitest';
import { makeAppEvents } from '#functions/app-events.js';
import { makeInstallPage } from '#functions/install-page.js';
import { makeProcessParkedEvents } from '#functions/process-parked-events.js';
import { type BitrixEmulator, startBitrixEmulator } from '#local/emulator/index.js';
import { type LambdaHttpServer, localContext, startLambdaHttpServer } from '#local/lambda-http-server.js';
import { HttpBitrixOAuthClient } from '#shared/adapters/bitrix/oauth-client.js';
import { DynamoDbParkedEventRepository } from '#shared/adapters/dynamodb/parked-event-repository.js';
import { DynamoDbTokenRepository } from '#shared/adapters/dynamodb/token-repository.js';
import { PARKED_RETRY_SPREAD } from '#shared/core/domain/parked-event.js';
import { DAY, HOUR, MINUTE } from '#shared/core/domain/time.js';
import { SILENT_LOGGER } from '#shared/core/ports/logger.js';
import { defaultNextRefreshAt } from '#shared/core/use-cases/complete-authorization.js';
import type { OpenInstallPageDeps } from '#shared/core/use-cases/open-install-page.js';
import { MemoryMetrics } from '#test/fakes/memory-metrics.js';
import { powertoolsLogger } from '#test/helpers/builders/loggers.js';
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
  readonly deps: OpenInstallPageDeps;
  readonly tokens: DynamoDbTokenRepository;
  readonly parked: DynamoDbParkedEventRepository;
  /** Runs the scheduled parked-claims function once. */
  processParked(): Promise<{ finished: number; retried: number; dropped: number; skipped: number; backlog: number }>;
  /** Every item of the table, for before/after comparisons. */
  snapshot(): Promise<Record<string, unknown>[]>;
  stop(): Promise<void>;
}

export async function startLifecycleHarness(options: { verifyTimeoutMs?: number } = {}): Promise<LifecycleHarness> {
  const emulator = await startBitrixEmulator({ apps: [OUR_APP, OTHER_APP] });
  const table = await createTestTable('lifecycle');
  const tokens = new DynamoDbTokenRepository({ client: table.client, tableName: table.tableName });
  const parked = new DynamoDbParkedEventRepository({ client: table.client, tableName: table.tableName, shards: 2 });
  const allowedAuthServers = ['oauth.bitrix.info', 'oauth.bitrix24.tech'];
  const deps: OpenInstallPageDeps = {
    tokens,
    parked,
    oauth: new HttpBitrixOAuthClient({
      credentials: { get: async () => OUR_APP },
      allowedAuthServers,
      urlRewrites: emulator.urlRewrites,
      timeoutMs: options.verifyTimeoutMs ?? 1500,
      now: () => emulator.clock.now(),
    }),
    allowedAuthServers,
    refreshTokenLifetimeMs: 30 * DAY,
    nextRefreshAt: defaultNextRefreshAt,
    parking: { retry: { baseMs: MINUTE, maxMs: HOUR, spread: PARKED_RETRY_SPREAD }, maxAgeMs: 7 * DAY },
    receiptTtlSeconds: 48 * 3600,
    defaultServerEndpoint: 'https://oauth.bitrix.info/rest/',
    logger: SILENT_LOGGER,
    now: () => emulator.clock.now(),
    random: () => 0,
  };
  const functionDeps = {
    lifecycle: deps,
    logger: powertoolsLogger(),
    metrics: new MemoryMetrics(),
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
  return {
    emulator,
    table,
    server,
    deps,
    tokens,
    parked,
    processParked: () => processParked(undefined, localContext('process-parked-events', 60_000)),
    snapshot: () => readWholeTable(table.client, table.tableName),
    stop: async () => {
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
export function useLifecycleHarness(options: { verifyTimeoutMs?: number } = {}): LifecycleHarness {
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
    processParked: () => current().processParked(),
    snapshot: () => current().snapshot(),
    stop: () => current().stop(),
  };
}
