import { performance } from 'node:perf_hooks';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { seededRandom } from '#bench/lib/stats.js';
import { World } from '#bench/lib/world.js';
import { makeAppEvents } from '#functions/app-events.js';
import { makeProcessParkedEvents } from '#functions/process-parked-events.js';
import { makeTokenVendor } from '#functions/token-vendor.js';
import { type DynamoDbFault, startDynamoDbFaultProxy } from '#local/dynamodb-fault-proxy.js';
import type { EmulatorPortal } from '#local/emulator/index.js';
import { localContext, startLambdaHttpServer } from '#local/lambda-http-server.js';
import { directInvoke } from '#local/lambda-invoke-server.js';
import { startSecretsManagerServer } from '#local/secrets-manager-server.js';
import { startTableStream } from '#local/table-stream.js';
import { PARKED_CLAIM_STREAM_FILTER } from '#shared/adapters/dynamodb/table-schema.js';
import { DynamoDbTokenReader } from '#shared/consumer/dynamodb-token-reader.js';
import { TokenClient } from '#shared/consumer/token-client.js';
import { TokenVendorClient } from '#shared/consumer/token-vendor-client.js';
import { AppError } from '#shared/core/domain/errors.js';
import { MINUTE } from '#shared/core/domain/time.js';
import type { TokenKey } from '#shared/core/domain/token-set.js';
import { sweepDueTokens } from '#shared/core/use-cases/sweep-due-tokens.js';
import { loadConfig } from '#shared/runtime/config.js';
import { wire } from '#shared/runtime/wiring.js';
import { MemoryMetrics } from '#test/fakes/memory-metrics.js';
import { MemoryNotifications } from '#test/fakes/memory-notifications.js';
import { powertoolsLogger } from '#test/helpers/builders/loggers.js';
import { drawLedger, type Ledger } from './ledger.js';
import type { ChaosReport } from './verdict.js';

export interface DynamoDbStormOptions {
  /** DynamoDB Local's endpoint; the service reaches it through a fault proxy, the judge directly. */
  readonly endpoint: string;
  /** Portals with a chain at the start (the sweep's and the consumers' work). */
  readonly portals: number;
  /** Portals installed (ONAPPINSTALL over HTTP) in every storm round. */
  readonly installsPerRound: number;
  /** Storm rounds, 50 emulator minutes apart: every token set is due in each. */
  readonly rounds: number;
  /** Quiet rounds at the end (no faults), so parked pairs and claims are applied or concluded. */
  readonly settleRounds: number;
  /** Sweeps running at the same time in every round. */
  readonly sweepers: number;
  /** Consumer reads (`getAccessToken`) per round. */
  readonly readsPerRound: number;
  /** Share of the service's DynamoDB requests faulted in a storm round, e.g. 0.25. */
  readonly faultRate: number;
  readonly seed: number;
}

/** Every fault the proxy knows, equally often: 500, both throttles, a hang past the client timeout, a reset, and a write applied whose answer is lost. */
const DYNAMODB_FAULTS: readonly DynamoDbFault[] = [
  { kind: 'error' },
  { kind: 'throttle', type: 'ThrottlingException' },
  { kind: 'throttle', type: 'ProvisionedThroughputExceededException' },
  { kind: 'hang' },
  { kind: 'reset' },
  { kind: 'lost' },
];

type ServerFault =
  | 'none'
  | 'http_5xx'
  | 'http_5xx_after_processing'
  | 'malformed_200'
  | 'timeout_slow'
  | 'timeout_hang';
const SERVER_FAULTS: readonly (readonly [ServerFault, number])[] = [
  ['none', 4],
  ['http_5xx', 2],
  ['http_5xx_after_processing', 1],
  ['malformed_200', 1],
  ['timeout_slow', 1],
  ['timeout_hang', 1],
];

/** Short limits, so a hung request costs little real time; the production rules between them still hold. */
const SERVICE_ENV = {
  BITRIX_HTTP_TIMEOUT_MS: '400',
  DYNAMODB_REQUEST_TIMEOUT_MS: '400',
  DYNAMODB_CONNECT_TIMEOUT_MS: '200',
  DYNAMODB_MAX_ATTEMPTS: '3',
} as const;

/**
 * The DynamoDB fault storm: the deployed functions (sweep, token vendor, install events,
 * process-parked-events from the table stream and its schedule) wired as in production, their DynamoDB
 * client behind the wire fault proxy, which faults `faultRate` of their requests — 500s, throttling,
 * hangs past the client timeout, resets, and writes applied whose answer is lost — while the emulator
 * adds authorization-server faults. Many sweeps, consumer reads and installs; then quiet rounds, and a
 * ledger of every refresh token the emulator issued to the app (`drawLedger`).
 */
export async function runDynamoDbStorm(options: DynamoDbStormOptions): Promise<ChaosReport> {
  const started = performance.now();
  // The emulator's clock starts at the wall clock's time: DynamoDB Local deletes items whose TTL has
  // passed by the wall clock, and parked claims and pairs carry TTLs computed from the service's clock.
  const world = await World.start({
    endpoint: options.endpoint,
    name: 'chaos-dynamodb',
    env: SERVICE_ENV,
    startAt: Math.floor(Date.now() / 60_000) * 60_000,
  });
  const app = world.emulator.app();
  const secrets = await startSecretsManagerServer({
    creds: JSON.stringify({ clientId: app.clientId, clientSecret: app.clientSecret }),
  });
  const proxy = await startDynamoDbFaultProxy({ target: options.endpoint, seed: options.seed });
  const unhandled: string[] = [];
  const onUnhandled = (error: unknown) => unhandled.push(`unhandledRejection: ${String(error)}`);
  process.on('unhandledRejection', onUnhandled);
  const stops: (() => Promise<void>)[] = [];
  try {
    const config = loadConfig({
      ...SERVICE_ENV,
      TABLE_NAME: world.tableName,
      BITRIX_URL_REWRITES: JSON.stringify(world.emulator.urlRewrites),
      CLIENT_CREDENTIALS_SECRET_ID: 'creds',
    });
    const local = { accessKeyId: 'local', secretAccessKey: 'local' };
    const notifications = new MemoryNotifications();
    const metrics = new MemoryMetrics();
    const clock = world.clock;
    const wiring = wire(config, {
      aws: {
        region: 'us-east-1',
        credentials: local,
        endpoints: { dynamodb: proxy.endpoint, secretsManager: secrets.endpoint },
      },
      logger: powertoolsLogger('SILENT'),
      metrics,
      notifications,
      clock,
      random: seededRandom(options.seed + 1),
    });
    const events = await startLambdaHttpServer({ 'POST /bitrix/events': makeAppEvents(wiring) });
    stops.push(events.stop);
    world.emulator.updateApp({ eventHandlerUrl: `${events.url}/bitrix/events` });
    const processParked = makeProcessParkedEvents(wiring);
    const stream = await startTableStream({
      endpoint: options.endpoint,
      tableName: world.tableName,
      filter: PARKED_CLAIM_STREAM_FILTER,
      handle: (event) => processParked(event, localContext('process-parked-events', 60_000)),
    });
    stops.push(stream.stop);
    // Consumers read the table through the same faults, and ask the deployed vendor.
    const consumerDynamoDb = new DynamoDBClient({
      endpoint: proxy.endpoint,
      region: 'us-east-1',
      credentials: local,
      maxAttempts: config.DYNAMODB_MAX_ATTEMPTS,
      requestHandler: {
        requestTimeout: config.DYNAMODB_REQUEST_TIMEOUT_MS,
        connectionTimeout: config.DYNAMODB_CONNECT_TIMEOUT_MS,
        throwOnRequestTimeout: true,
      },
    });
    stops.push(async () => consumerDynamoDb.destroy());
    const consumer = new TokenClient({
      reader: new DynamoDbTokenReader({ client: consumerDynamoDb, tableName: world.tableName }),
      vendor: new TokenVendorClient(directInvoke(makeTokenVendor(wiring), 'token-vendor')),
      now: clock,
      refreshFailureCooldownMs: 60_000,
    });

    const seeded = world.addPortals(options.portals, 's');
    const keys: TokenKey[] = await world.seedChains(seeded, {
      due: (index) => clock() + Math.round(((index + 0.5) / options.portals) * 45 * MINUTE),
      installations: true,
    });
    const installed: EmulatorPortal[] = [];
    const random = seededRandom(options.seed);
    const deck: ServerFault[] = [];
    const pickServerFault = (): ServerFault => {
      if (deck.length === 0) {
        for (const [mode, weight] of SERVER_FAULTS) for (let i = 0; i < weight; i += 1) deck.push(mode);
        for (let i = deck.length - 1; i > 0; i -= 1) {
          const j = Math.floor(random() * (i + 1));
          [deck[i], deck[j]] = [deck[j] as ServerFault, deck[i] as ServerFault];
        }
      }
      return deck.pop() ?? 'none';
    };
    const serverFaultRounds: Record<string, number> = {};
    const installAnswers: Record<string, number> = {};
    const consumerOutcomes: Record<string, number> = {};
    const sweepTotals = { due: 0, refreshed: 0, failed: 0, leaseHeld: 0, skipped: 0, internal: 0, runsFailed: 0 };
    let falseReauthDuringRun = 0;
    let revived = 0;
    let stormRequests = 0;
    let stormFaults = 0;
    const faultKinds: Record<string, number> = {};

    const install = async () => {
      const portal = world.emulator.addPortal({
        domain: `i${installed.length + 1}-${world.tableName.slice(-6)}.bitrix24.com`,
        region: 'west',
        rateLimit: false,
      });
      installed.push(portal);
      const answer = await world.emulator.install(portal);
      installAnswers[answer.status] = (installAnswers[answer.status] ?? 0) + 1;
    };

    const round = async (stormy: boolean) => {
      world.emulator.clock.advance(50 * MINUTE);
      const mode = stormy ? pickServerFault() : 'none';
      serverFaultRounds[mode] = (serverFaultRounds[mode] ?? 0) + 1;
      setServerFault(world, mode);
      if (stormy) {
        proxy.resetCounts();
        proxy.addRule({ probability: options.faultRate, fault: DYNAMODB_FAULTS });
      }
      const keysNow = [...keys, ...(await installedKeys(world, installed))];
      const sweeps = Array.from({ length: options.sweepers }, async () => {
        try {
          const summary = await sweepDueTokens(
            { remainingMs: () => Number.POSITIVE_INFINITY, concurrency: 4, maxKeys: 5000 },
            wiring.refresh,
          );
          sweepTotals.due += summary.due;
          sweepTotals.refreshed += summary.refreshed;
          sweepTotals.failed += summary.failed.total;
          sweepTotals.leaseHeld += summary.leaseHeld;
          sweepTotals.skipped += summary.skipped;
          sweepTotals.internal += summary.failed.byCategory.internal ?? 0;
        } catch {
          // Reading the due index failed: the invocation fails and the next one sweeps (as in Lambda).
          sweepTotals.runsFailed += 1;
        }
      });
      const reads = Array.from({ length: options.readsPerRound }, async () => {
        const key = keysNow[Math.floor(random() * keysNow.length)];
        if (key === undefined) return;
        try {
          await consumer.getAccessToken(key);
          consumerOutcomes.ok = (consumerOutcomes.ok ?? 0) + 1;
        } catch (error) {
          const code =
            error instanceof AppError ? error.code : `untyped:${error instanceof Error ? error.name : 'unknown'}`;
          consumerOutcomes[code] = (consumerOutcomes[code] ?? 0) + 1;
        }
      });
      const installs = Array.from({ length: stormy ? options.installsPerRound : 0 }, install);
      const schedule = processParked(undefined, localContext('process-parked-events', 60_000)).catch(() => {
        sweepTotals.runsFailed += 1;
      });
      await Promise.all([...sweeps, ...reads, ...installs, schedule]);
      // The stream hands every claim parked this round to process-parked-events (under the same faults).
      await stream.drain(undefined, 60_000).catch((error: unknown) => unhandled.push(`stream: ${String(error)}`));
      if (stormy) {
        const counts = proxy.counts;
        stormRequests += Object.values(counts.requests).reduce((sum, n) => sum + n, 0);
        stormFaults += Object.values(counts.faults).reduce((sum, n) => sum + n, 0);
        for (const [id, n] of Object.entries(counts.faults)) {
          const kind = id.slice(id.indexOf(':') + 1);
          faultKinds[kind] = (faultKinds[kind] ?? 0) + n;
        }
      }
      proxy.clear();
      // Healed: hung token requests are answered now (the emulator processes them after the client gave up).
      world.emulator.faults.clear();
      await new Promise((resolve) => setTimeout(resolve, 20));
      await reviveDead([...keys, ...(await installedKeys(world, installed))]);
    };

    /**
     * A chain the service declared dead is judged on the spot (was its refresh token really dead?),
     * then revived as a person would: opening the app starts a new chain. The ledger finds the dead
     * chain's reason among the notifications.
     */
    const reviveDead = async (all: readonly TokenKey[]) => {
      for (const key of all) {
        const stored = await world.repository.getTokenSet(key);
        if (stored?.status !== 'reauth_required') continue;
        if (world.emulator.tokenState(stored.refreshToken).state === 'live') falseReauthDuringRun += 1;
        const tokens = world.emulator.issueTokens(key.memberId, key.userId);
        const now = clock();
        await world.repository.storeNewChain(
          {
            accessToken: tokens.accessToken,
            refreshToken: tokens.refreshToken,
            accessExpiresAt: tokens.expires * 1000,
            refreshIssuedAt: now,
            memberId: key.memberId,
            userId: key.userId,
            clientEndpoint: stored.clientEndpoint,
            serverEndpoint: stored.serverEndpoint,
            source: 'install_page',
            refreshExpiresAt: now + world.deps.settings.refreshTokenLifetimeMs,
            nextRefreshAt: now + 40 * MINUTE,
            now,
          },
          stored.version,
        );
        revived += 1;
      }
    };

    for (let r = 0; r < options.rounds; r += 1) await round(true);
    for (let r = 0; r < options.settleRounds; r += 1) await round(false);

    const ledger: Ledger = await drawLedger({
      emulator: world.emulator,
      client: world.dynamodb.client,
      tableName: world.tableName,
      portals: [...seeded, ...installed],
      notifications: notifications.published,
    });
    const grants = world.refreshOutcomes();
    const notified: Record<string, number> = {};
    for (const change of notifications.published) {
      const id = `${change.event}:${change.reason}`;
      notified[id] = (notified[id] ?? 0) + 1;
    }
    return {
      name: 'dynamodb storm',
      gate: {
        lostSilently: ledger.unreportedLoss,
        falseReauth: ledger.falseReauth + falseReauthDuringRun,
        unhandledErrors: unhandled.length,
        http5xx: 0,
        writesFromRejectedInput: 0,
      },
      observed: {
        portals: options.portals,
        rounds: options.rounds,
        settleRounds: options.settleRounds,
        sweepers: options.sweepers,
        refreshes: grants.ok ?? 0,
        refreshAnswers: grants,
        installs: installed.length,
        installAnswers,
        dynamoDbRequests: stormRequests,
        dynamoDbFaults: stormFaults,
        faultShare: stormRequests === 0 ? 0 : Math.round((stormFaults / stormRequests) * 1000) / 1000,
        dynamoDbFaultKinds: faultKinds,
        serverFaultRounds,
        injectedAtServer: world.emulator.counters.faults.token ?? {},
        sweeps: sweepTotals,
        consumerReads: consumerOutcomes,
        notifications: notified,
        lostWritesParked: metrics.get('LostWrite{parked=true}'),
        parkedPairsApplied: metrics.get('RecoveryApplied'),
        revivedByNewChain: revived,
        ledger,
        unhandled: unhandled.slice(0, 10),
        seconds: Math.round((performance.now() - started) / 1000),
      },
    };
  } finally {
    process.off('unhandledRejection', onUnhandled);
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await proxy.stop();
    await secrets.stop();
    await world.stop();
  }
}

/** The one line `npm run chaos` prints per storm. */
export function stormLine(report: ChaosReport): string {
  const o = report.observed;
  const ledger = o.ledger as Ledger;
  return `dynamodb storm: ${String(o.refreshes)} refreshes, ${String(o.installs)} installs, unreported_loss=${ledger.unreportedLoss} false_reauth=${report.gate.falseReauth} reported_loss=${ledger.reportedLoss}`;
}

/** Token sets of installed portals that exist by now (an install still parked has none yet). */
async function installedKeys(world: World, portals: readonly EmulatorPortal[]): Promise<TokenKey[]> {
  const found: TokenKey[] = [];
  for (const portal of portals) {
    const key = { memberId: portal.memberId, userId: 1 };
    if ((await world.repository.getTokenSet(key)) !== undefined) found.push(key);
  }
  return found;
}

function setServerFault(world: World, mode: ServerFault): void {
  const faults = world.emulator.faults;
  switch (mode) {
    case 'http_5xx':
      faults.set('token', { failRate: 0.4, failStatus: 503 });
      return;
    case 'http_5xx_after_processing':
      faults.set('token', { failRate: 0.25, failStatus: 502, applyAfter: true });
      return;
    case 'malformed_200':
      faults.set('token', { malformed200: 'not-json' });
      return;
    case 'timeout_slow':
      faults.set('token', { latencyMs: Number(SERVICE_ENV.BITRIX_HTTP_TIMEOUT_MS) + 200 });
      return;
    case 'timeout_hang':
      faults.set('token', { hang: true });
      return;
    case 'none':
      return;
  }
}
