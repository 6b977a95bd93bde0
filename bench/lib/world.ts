import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { makeTokenVendor } from '#functions/token-vendor.js';
import { ensureTable } from '#local/create-table.js';
import { type BitrixEmulator, type EmulatorPortal, startBitrixEmulator } from '#local/emulator/index.js';
import type { InvokedHandler } from '#local/lambda-invoke-server.js';
import { HttpBitrixOAuthClient } from '#shared/adapters/bitrix/oauth-client.js';
import { HttpPortalProbe } from '#shared/adapters/bitrix/portal-probe.js';
import { DynamoDbRecoveryStore } from '#shared/adapters/dynamodb/recovery-store.js';
import { DynamoDbTokenRepository } from '#shared/adapters/dynamodb/token-repository.js';
import { nextRefreshAt } from '#shared/core/domain/refresh-policy.js';
import { SECOND } from '#shared/core/domain/time.js';
import type { TokenKey, TokenSet } from '#shared/core/domain/token-set.js';
import type { RefreshDeps } from '#shared/core/use-cases/refresh-token-set.js';
import { type SweepDeps, type SweepSummary, sweepDueTokens } from '#shared/core/use-cases/sweep-due-tokens.js';
import type { VendDeps } from '#shared/core/use-cases/vend-access-token.js';
import { type Config, loadConfig } from '#shared/runtime/config.js';
import { refreshSettings } from '#shared/runtime/wiring.js';
import { MemoryLogger } from '#test/fakes/memory-logger.js';
import { MemoryMetrics } from '#test/fakes/memory-metrics.js';
import { MemoryNotifications } from '#test/fakes/memory-notifications.js';
import { powertoolsLogger } from '#test/helpers/builders/loggers.js';
import { CountingDynamoDbClient } from './dynamodb.js';
import { mapConcurrent, seededRandom } from './stats.js';

/** 2026-03-01T00:00:00Z: every world starts its emulator clock here unless told otherwise. */
export const WORLD_START = Date.UTC(2026, 2, 1);

export interface WorldOptions {
  /** DynamoDB Local endpoint. */
  readonly endpoint: string;
  /** Table name prefix (a random suffix is added). */
  readonly name: string;
  /** Service settings as environment strings (`shared/runtime/config.ts` names); the rest keep their defaults. */
  readonly env?: Readonly<Record<string, string>>;
  /** Chains the emulator keeps before dropping dead ones. @default 200000 */
  readonly maxChains?: number;
  /** @default WORLD_START */
  readonly startAt?: number;
  /** Seed of the jitter the refresh path draws. @default 7 */
  readonly seed?: number;
}

/**
 * One Bitrix24 emulator (frozen clock, real HTTP on 127.0.0.1), one token table in DynamoDB Local
 * reached through a counting client, and the refresh path wired as in production: the HTTP OAuth
 * client with URL rewrites, the DynamoDB repository and recovery store, the settings `loadConfig`
 * parses. Notifications and metrics stay in memory so they can be counted.
 */
export class World {
  readonly config: Config;
  readonly repository: DynamoDbTokenRepository;
  readonly notifications = new MemoryNotifications();
  readonly metrics = new MemoryMetrics();
  /** What the service logged: a sweep counts an unexpected exception as `internal`, and only the log says what it was. */
  readonly logger = new MemoryLogger();
  readonly deps: SweepDeps;
  readonly clock: () => number;
  private portalCounter = 0;

  private constructor(
    readonly emulator: BitrixEmulator,
    readonly dynamodb: CountingDynamoDbClient,
    readonly tableName: string,
    env: Readonly<Record<string, string>>,
    seed: number,
  ) {
    this.clock = () => emulator.clock.now();
    this.config = loadConfig({ TABLE_NAME: tableName, ...env });
    this.repository = new DynamoDbTokenRepository({
      client: dynamodb.client,
      tableName,
      dueShards: this.config.DUE_SHARDS,
    });
    this.deps = {
      repository: this.repository,
      oauth: this.oauthClient(),
      recovery: new DynamoDbRecoveryStore({ client: dynamodb.client, tableName }),
      notifications: this.notifications,
      metrics: this.metrics,
      logger: this.logger,
      settings: refreshSettings(this.config),
      clock: this.clock,
      random: seededRandom(seed),
    };
  }

  static async start(options: WorldOptions): Promise<World> {
    const emulator = await startBitrixEmulator({
      clock: { frozen: true, startAt: options.startAt ?? WORLD_START },
      limits: { maxChains: options.maxChains ?? 200_000, maxCodes: 1000 },
    });
    const dynamodb = new CountingDynamoDbClient(options.endpoint);
    const tableName = `${options.name}-${Math.random().toString(36).slice(2, 10)}`;
    await ensureTable(dynamodb.client, tableName);
    dynamodb.reset();
    return new World(emulator, dynamodb, tableName, options.env ?? {}, options.seed ?? 7);
  }

  /** An OAuth client on the emulator with this world's settings (its own timeout when given). */
  oauthClient(timeoutMs = this.config.BITRIX_HTTP_TIMEOUT_MS): HttpBitrixOAuthClient {
    const app = this.emulator.app();
    return new HttpBitrixOAuthClient({
      credentials: { get: async () => ({ clientId: app.clientId, clientSecret: app.clientSecret }) },
      allowedAuthServers: this.config.BITRIX_AUTH_SERVERS,
      urlRewrites: this.emulator.urlRewrites,
      timeoutMs,
      now: this.clock,
    });
  }

  /** The token vendor's dependencies on this world: its table, and this world's refresh path unless given another. */
  vendorDeps(refresh: RefreshDeps = this.deps): VendDeps {
    return {
      tokens: this.repository,
      refresh,
      probe: new HttpPortalProbe({
        urlRewrites: this.emulator.urlRewrites,
        timeoutMs: this.config.BITRIX_HTTP_TIMEOUT_MS,
      }),
      settings: {
        minValidityMs: this.config.CONSUMER_REFRESH_MARGIN_SECONDS * SECOND,
        touchThrottleMs: this.config.CONSUMER_TOUCH_THROTTLE_SECONDS * SECOND,
      },
    };
  }

  /** The deployed token vendor (`functions/token-vendor.ts`) on this world. */
  vendorHandler(refresh: RefreshDeps = this.deps): InvokedHandler {
    return makeTokenVendor({
      vendor: this.vendorDeps(refresh),
      logger: powertoolsLogger('SILENT'),
      metrics: this.metrics,
      config: this.config,
    });
  }

  /** Adds `count` portals with the app installed (no REST rate limit). */
  addPortals(count: number, prefix = 'p'): EmulatorPortal[] {
    return Array.from({ length: count }, () => {
      this.portalCounter += 1;
      return this.emulator.addPortal({
        domain: `${prefix}${this.portalCounter}-${this.tableName.slice(-6)}.bitrix24.com`,
        region: 'west',
        installed: true,
        rateLimit: false,
      });
    });
  }

  /**
   * Stores a chain for each portal's admin through the repository (`storeNewChain`, plus the
   * installation record when asked), with tokens the emulator issued directly (`issueTokens`).
   * `due: true` puts each token set in the due index as due now, a function gives the due time of the
   * i-th portal; `false` lets the refresh policy decide.
   */
  async seedChains(
    portals: readonly EmulatorPortal[],
    options: {
      due: boolean | ((index: number) => number);
      installations?: boolean;
      concurrency?: number;
    },
  ): Promise<TokenKey[]> {
    const now = this.clock();
    const { policy, refreshTokenLifetimeMs } = this.deps.settings;
    return mapConcurrent(portals, options.concurrency ?? 16, async (portal, index) => {
      const tokens = this.emulator.issueTokens(portal);
      const refreshExpiresAt = now + refreshTokenLifetimeMs;
      const accessExpiresAt = tokens.expires * 1000;
      if (options.installations === true) {
        await this.repository.saveInstallation(
          {
            memberId: portal.memberId,
            domain: portal.domain,
            clientEndpoint: portal.clientEndpoint,
            serverEndpoint: portal.serverEndpoint,
            status: 'active',
            installedBy: tokens.userId,
            installedAt: now,
            now,
          },
          null,
        );
      }
      await this.repository.storeNewChain(
        {
          accessToken: tokens.accessToken,
          refreshToken: tokens.refreshToken,
          accessExpiresAt,
          refreshIssuedAt: now,
          memberId: portal.memberId,
          userId: tokens.userId,
          clientEndpoint: portal.clientEndpoint,
          serverEndpoint: portal.serverEndpoint,
          scope: tokens.scope,
          appStatus: 'L',
          source: 'install_event',
          refreshExpiresAt,
          nextRefreshAt:
            typeof options.due === 'function'
              ? options.due(index)
              : options.due
                ? now - 1000
                : nextRefreshAt({ accessExpiresAt, refreshExpiresAt }, now, policy, this.deps.random),
          now,
        },
        null,
      );
      return { memberId: portal.memberId, userId: tokens.userId };
    });
  }

  /**
   * The environment of a worker process wired as a deployed function on this world: its table, the
   * emulator behind the URL rewrites, the client credentials in the local Secrets Manager at `secrets`
   * (under the id `creds`).
   */
  processEnv(secrets: string): Record<string, string> {
    return {
      TABLE_NAME: this.tableName,
      DUE_SHARDS: String(this.config.DUE_SHARDS),
      BITRIX_URL_REWRITES: JSON.stringify(this.emulator.urlRewrites),
      CLIENT_CREDENTIALS_SECRET_ID: 'creds',
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets,
    };
  }

  /** One sweep with the production code and a budget that never runs out. */
  sweep(options: { concurrency: number; maxKeys: number }, overrides: Partial<SweepDeps> = {}): Promise<SweepSummary> {
    return sweepDueTokens(
      { remainingMs: () => Number.POSITIVE_INFINITY, concurrency: options.concurrency, maxKeys: options.maxKeys },
      { ...this.deps, ...overrides },
    );
  }

  async tokenSet(key: TokenKey): Promise<TokenSet> {
    const stored = await this.repository.getTokenSet(key);
    if (stored === undefined) throw new Error(`token set ${key.memberId}#${key.userId} missing`);
    return stored;
  }

  /** Successful and failed `refresh_token` grants the emulator answered since its last counter reset. */
  refreshOutcomes(): Record<string, number> {
    return { ...(this.emulator.counters.token.byGrant.refresh_token ?? {}) };
  }

  /** Stops the emulator and drops the table (DynamoDB Local may be shared with other runs). */
  async stop(): Promise<void> {
    await this.emulator.stop();
    await this.dynamodb.client.send(new DeleteTableCommand({ TableName: this.tableName })).catch(() => undefined);
    this.dynamodb.destroy();
  }
}
