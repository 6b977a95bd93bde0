import { type BitrixEmulator, type EmulatorPortal, startBitrixEmulator } from '#local/emulator/index.js';
import { DynamoDbTokenRepository } from '#shared/adapters/dynamodb/token-repository.js';
import { refreshPathRefresher } from '#shared/consumer/refresh-path.js';
import { BitrixRestClient, type BitrixRestClientOptions } from '#shared/consumer/rest-client.js';
import { TokenClient, type TokenClientOptions } from '#shared/consumer/token-client.js';
import { DAY } from '#shared/core/domain/time.js';
import type { TokenSet } from '#shared/core/domain/token-set.js';
import type { RefreshDeps } from '#shared/core/use-cases/refresh-token-set.js';
import { MemoryMetrics } from '#test/fakes/memory-metrics.js';
import { MemoryNotifications } from '#test/fakes/memory-notifications.js';
import { testRefreshSettings } from '#test/helpers/builders/refresh-settings.js';
import { emulatorOAuthClient, emulatorRefreshDeps } from './emulator-refresh.js';
import { createTestTable, type TestTable } from './table.js';

/** Our app as the emulator knows it. */
export const APP = {
  clientId: 'local.consumer0000000001.11111111',
  clientSecret: 'ConsumerSecret0123456789abcdefghijklmnopqrstu',
};

/**
 * The consumer library against the Bitrix24 emulator (over real HTTP) and DynamoDB Local, wired as a
 * consumer Lambda is, except that time is the emulator's (frozen) clock.
 */
export interface ConsumerHarness {
  readonly emulator: BitrixEmulator;
  readonly table: TestTable;
  readonly repository: DynamoDbTokenRepository;
  readonly refresh: RefreshDeps;
  readonly notifications: MemoryNotifications;
  /** A new, independent library instance (own cache, own single-flight map), as another process has. */
  tokenClient(options?: Partial<TokenClientOptions>): TokenClient;
  restClient(tokens: TokenClient, options?: Partial<BitrixRestClientOptions>): BitrixRestClient;
  /** A portal with the app installed and a chain for `userId` stored in the table (installed by that user). */
  seedPortal(
    domain: string,
    options?: { userId?: number; nextRefreshAt?: number; accessExpiresAt?: number },
  ): Promise<{ portal: EmulatorPortal; stored: TokenSet }>;
  stop(): Promise<void>;
}

/** `frozen: false` lets the emulator follow real time (for consumers in other processes). @default true */
export async function startConsumerHarness(options: { frozen?: boolean } = {}): Promise<ConsumerHarness> {
  const emulator = await startBitrixEmulator({ app: APP, clock: { frozen: options.frozen ?? true } });
  const table = await createTestTable('consumer');
  const repository = new DynamoDbTokenRepository({ client: table.client, tableName: table.tableName });
  const notifications = new MemoryNotifications();
  const clock = (): number => emulator.clock.now();
  const refresh: RefreshDeps = emulatorRefreshDeps({
    emulator,
    client: table.client,
    tableName: table.tableName,
    repository,
    oauth: emulatorOAuthClient(emulator, { credentials: APP, timeoutMs: 5000 }),
    notifications,
    metrics: new MemoryMetrics(),
    settings: testRefreshSettings(),
  });
  return {
    emulator,
    table,
    repository,
    refresh,
    notifications,
    tokenClient: (options = {}) =>
      new TokenClient({ store: repository, refresher: refreshPathRefresher(refresh), now: clock, ...options }),
    restClient: (tokens, options = {}) =>
      new BitrixRestClient({
        tokens,
        urlRewrites: emulator.urlRewrites,
        timeoutMs: 5000,
        sleep: async () => undefined,
        ...options,
      }),
    seedPortal: async (domain, options = {}) => {
      const userId = options.userId ?? 1;
      const portal = emulator.addPortal({
        domain,
        region: 'west',
        installed: true,
        rateLimit: false,
        users: [{ id: 1, admin: true }, { id: 2 }, ...(userId > 2 ? [{ id: userId, admin: true }] : [])],
      });
      const issued = emulator.issueTokens(portal, userId);
      const now = clock();
      await repository.saveInstallation(
        {
          memberId: portal.memberId,
          domain: portal.domain,
          clientEndpoint: portal.clientEndpoint,
          serverEndpoint: portal.serverEndpoint,
          status: 'active',
          installedBy: userId,
          installedAt: now,
          now,
        },
        null,
      );
      const stored = await repository.storeNewChain(
        {
          accessToken: issued.accessToken,
          refreshToken: issued.refreshToken,
          accessExpiresAt: options.accessExpiresAt ?? issued.expires * 1000,
          refreshIssuedAt: now,
          refreshExpiresAt: now + 30 * DAY,
          memberId: portal.memberId,
          userId,
          clientEndpoint: portal.clientEndpoint,
          serverEndpoint: portal.serverEndpoint,
          scope: issued.scope,
          source: 'import',
          nextRefreshAt: options.nextRefreshAt,
          now,
        },
        null,
      );
      return { portal, stored };
    },
    stop: async () => {
      await emulator.stop();
      await table.drop();
    },
  };
}
