import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type BitrixEmulator, type EmulatorPortal, startBitrixEmulator } from '#local/emulator/index.js';
import type { HttpBitrixOAuthClient } from '#shared/adapters/bitrix/oauth-client.js';
import { DynamoDbRecoveryStore } from '#shared/adapters/dynamodb/recovery-store.js';
import { DynamoDbTokenRepository } from '#shared/adapters/dynamodb/token-repository.js';
import { nextRefreshAt } from '#shared/core/domain/refresh-policy.js';
import type { IssuedTokens, TokenKey, TokenSet } from '#shared/core/domain/token-set.js';
import type { RefreshSettings } from '#shared/core/use-cases/refresh-token-set.js';
import type { SweepDeps, SweepSummary } from '#shared/core/use-cases/sweep-due-tokens.js';
import { sweepDueTokens } from '#shared/core/use-cases/sweep-due-tokens.js';
import { MemoryMetrics } from '#test/fakes/memory-metrics.js';
import { MemoryNotifications } from '#test/fakes/memory-notifications.js';
import { testRefreshSettings } from '#test/helpers/builders/refresh-settings.js';
import { emulatorOAuthClient, emulatorRefreshDeps } from './emulator-refresh.js';
import type { FaultyDynamoDb } from './faulty-dynamodb.js';
import { createTestTable, type TestTable } from './table.js';

/** 2026-03-01T00:00:00Z: every test starts from the same emulator instant. */
export const START = Date.UTC(2026, 2, 1);

/**
 * One emulator (frozen clock), one table, and the refresh path wired to both as in production
 * (HTTP OAuth client with URL rewrites, DynamoDB repository and recovery store); notifications and
 * metrics in memory so tests can count them.
 */
export interface RefreshHarness {
  readonly emulator: BitrixEmulator;
  readonly table: TestTable;
  /** Reads and seeds the table directly (never through the fault proxy). */
  readonly repository: DynamoDbTokenRepository;
  /** Parked pairs, read directly. */
  readonly recovery: DynamoDbRecoveryStore;
  readonly notifications: MemoryNotifications;
  readonly metrics: MemoryMetrics;
  readonly settings: RefreshSettings;
  /** Production wiring; spread and override a field to inject a fault. */
  readonly deps: SweepDeps;
  /** An OAuth client on the emulator, with its own options. */
  oauthClient(options?: {
    timeoutMs?: number;
    clientSecret?: string;
    urlRewrites?: Record<string, string>;
  }): HttpBitrixOAuthClient;
  /** Adds a portal with the app installed, stores a chain for its admin, and returns both. */
  seedPortal(options?: {
    domain?: string;
    scope?: string;
    userId?: number;
  }): Promise<{ portal: EmulatorPortal; key: TokenKey; stored: TokenSet }>;
  /** Runs one sweep with a generous budget. */
  sweep(overrides?: Partial<SweepDeps>, concurrency?: number): Promise<SweepSummary>;
  get(key: TokenKey): Promise<TokenSet>;
  stop(): Promise<void>;
}

let portalCounter = 0;

/** Converts what the emulator hands out on install into the domain's `IssuedTokens`. */
export function issuedFromEmulator(
  tokens: { accessToken: string; refreshToken: string; expires: number; memberId: string; userId: number },
  portal: EmulatorPortal,
  now: number,
  scope: string,
): IssuedTokens {
  return {
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken,
    accessExpiresAt: tokens.expires * 1000,
    refreshIssuedAt: now,
    memberId: tokens.memberId,
    userId: tokens.userId,
    clientEndpoint: `https://${portal.domain}/rest/`,
    serverEndpoint: `https://${portal.authServerHost}/rest/`,
    scope,
    appStatus: 'L',
  };
}

export async function startRefreshHarness(
  options: {
    settings?: Partial<RefreshSettings>;
    timeoutMs?: number;
    dueShards?: number;
    startAt?: number;
    /** DynamoDB behind a fault proxy for the code under test (`deps`); the harness itself reads and seeds directly. */
    faults?: FaultyDynamoDb;
  } = {},
): Promise<RefreshHarness> {
  const emulator = await startBitrixEmulator({ clock: { frozen: true, startAt: options.startAt ?? START } });
  const table = await createTestTable('refresh');
  const client = new DynamoDBClient({});
  const repository = new DynamoDbTokenRepository({
    client,
    tableName: table.tableName,
    dueShards: options.dueShards ?? 3,
  });
  const notifications = new MemoryNotifications();
  const metrics = new MemoryMetrics();
  const settings = testRefreshSettings(options.settings);
  const app = emulator.app();
  const clock = () => emulator.clock.now();

  const oauthClient = (o: { timeoutMs?: number; clientSecret?: string; urlRewrites?: Record<string, string> } = {}) =>
    emulatorOAuthClient(emulator, {
      credentials: { clientId: app.clientId, clientSecret: o.clientSecret ?? app.clientSecret },
      timeoutMs: o.timeoutMs ?? options.timeoutMs ?? 5000,
      ...(o.urlRewrites === undefined ? {} : { urlRewrites: o.urlRewrites }),
    });

  const underTest =
    options.faults === undefined
      ? repository
      : new DynamoDbTokenRepository({
          client: options.faults.client,
          tableName: table.tableName,
          dueShards: options.dueShards ?? 3,
        });
  const deps = emulatorRefreshDeps({
    emulator,
    client: options.faults?.client ?? client,
    tableName: table.tableName,
    repository: underTest,
    oauth: oauthClient(),
    credentials: { clientId: app.clientId, clientSecret: app.clientSecret },
    notifications,
    metrics,
    settings,
  });

  return {
    emulator,
    table,
    repository,
    recovery: new DynamoDbRecoveryStore({ client, tableName: table.tableName }),
    notifications,
    metrics,
    settings,
    deps,
    oauthClient,
    async seedPortal(seed = {}) {
      portalCounter += 1;
      const domain = seed.domain ?? `p${portalCounter}-${Math.random().toString(36).slice(2, 8)}.bitrix24.com`;
      const portal = emulator.addPortal({ domain, region: 'west', installed: true });
      const tokens = emulator.issueTokens(portal, seed.userId);
      const now = clock();
      const issued = issuedFromEmulator(tokens, portal, now, seed.scope ?? 'crm,user');
      const refreshExpiresAt = now + settings.refreshTokenLifetimeMs;
      const stored = await repository.storeNewChain(
        {
          ...issued,
          source: 'install_event',
          refreshExpiresAt,
          nextRefreshAt: nextRefreshAt(
            { accessExpiresAt: issued.accessExpiresAt, refreshExpiresAt },
            now,
            settings.policy,
            () => 0.5,
          ),
          now,
        },
        null,
      );
      return { portal, key: { memberId: portal.memberId, userId: tokens.userId }, stored };
    },
    sweep(overrides = {}, concurrency = 4) {
      return sweepDueTokens({ remainingMs: () => 60_000, concurrency, maxKeys: 5000 }, { ...deps, ...overrides });
    },
    async get(key) {
      const set = await repository.getTokenSet(key);
      if (set === undefined) throw new Error('token set missing');
      return set;
    },
    async stop() {
      await emulator.stop();
      client.destroy();
      await table.drop();
    },
  };
}

/** `refresh_token` outcomes the emulator counted (`ok`, `invalid_grant`, …). */
export function refreshOutcomes(emulator: BitrixEmulator): Record<string, number> {
  return emulator.counters.token.byGrant.refresh_token ?? {};
}
