import { performance } from 'node:perf_hooks';
import { seededRandom } from '#bench/lib/stats.js';
import { World } from '#bench/lib/world.js';
import { directInvoke } from '#local/lambda-invoke-server.js';
import { DynamoDbTokenReader } from '#shared/consumer/dynamodb-token-reader.js';
import { TokenClient } from '#shared/consumer/token-client.js';
import { TokenVendorClient } from '#shared/consumer/token-vendor-client.js';
import { AppError } from '#shared/core/domain/errors.js';
import type { History } from '#shared/core/domain/token-history.js';
import type { TokenKey, TokenSet } from '#shared/core/domain/token-set.js';
import type {
  DuePage,
  HeldLease,
  LeaseInput,
  RecordFailureInput,
  RefreshResultInput,
  StoredHistory,
  TokenRepository,
} from '#shared/core/ports/token-repository.js';
import type { SweepDeps, SweepSummary } from '#shared/core/use-cases/sweep-due-tokens.js';
import { recoveryItemsOf } from './ledger.js';
import { type ChaosReport, judgeChains } from './verdict.js';

export interface FaultStormOptions {
  readonly endpoint: string;
  readonly portals: number;
  /** Sweeps running at the same time in every round. */
  readonly sweepers: number;
  /** Rounds with faults; each advances the emulator clock by 5 minutes (the sweep interval). */
  readonly rounds: number;
  /** Rounds without faults at the end (10 minutes apart), so every chain is tried again. */
  readonly settleRounds: number;
  /** Consumer reads (`getAccessToken`) of random portals per round, next to the sweeps. */
  readonly readsPerRound: number;
  readonly seed: number;
}

type Mode =
  | 'none'
  | 'http_5xx'
  | 'http_5xx_after_processing'
  | 'malformed_200'
  | 'malformed_200_after_processing'
  | 'error_body_200'
  | 'timeout_slow'
  | 'timeout_hang'
  | 'dynamodb_write_failures';

const MODES: readonly (readonly [Mode, number])[] = [
  ['none', 3],
  ['http_5xx', 2],
  ['http_5xx_after_processing', 2],
  ['malformed_200', 1],
  ['malformed_200_after_processing', 1],
  ['error_body_200', 1],
  ['timeout_slow', 1],
  ['timeout_hang', 1],
  ['dynamodb_write_failures', 2],
];

/** The client's timeout to the authorization server in this scenario; the slow fault answers later. */
const TIMEOUT_MS = 400;

/**
 * The token store with injected DynamoDB write failures on the refresh path's one critical write:
 * `completeRefresh` fails before it reaches the table ("throttled"), or after it landed ("answer lost").
 * Everything else goes to DynamoDB Local as it is.
 */
class FlakyRepository
  implements
    Pick<
      TokenRepository,
      | 'getTokenSet'
      | 'acquireLease'
      | 'completeRefresh'
      | 'recordFailure'
      | 'releaseLease'
      | 'readHistory'
      | 'writeHistory'
      | 'queryDue'
      | 'dueShards'
    >
{
  failBefore = 0;
  failAfter = 0;
  injected = 0;
  /** Token sets whose write landed but was reported failed. */
  readonly landedButFailed = new Set<string>();

  constructor(
    private readonly inner: TokenRepository,
    private readonly random: () => number,
  ) {}

  get dueShards(): number {
    return this.inner.dueShards;
  }

  getTokenSet(key: TokenKey): Promise<TokenSet | undefined> {
    return this.inner.getTokenSet(key);
  }

  acquireLease(key: TokenKey, input: LeaseInput): Promise<HeldLease> {
    return this.inner.acquireLease(key, input);
  }

  async completeRefresh(key: TokenKey, input: RefreshResultInput): Promise<TokenSet> {
    if (this.random() < this.failBefore) {
      this.injected += 1;
      throw new Error('injected: ProvisionedThroughputExceededException before the write');
    }
    const saved = await this.inner.completeRefresh(key, input);
    if (this.random() < this.failAfter) {
      this.injected += 1;
      this.landedButFailed.add(`${key.memberId}#${key.userId}`);
      throw new Error('injected: connection reset after the write landed');
    }
    return saved;
  }

  recordFailure(key: TokenKey, input: RecordFailureInput): Promise<TokenSet> {
    return this.inner.recordFailure(key, input);
  }

  releaseLease(key: TokenKey, owner: string): Promise<void> {
    return this.inner.releaseLease(key, owner);
  }

  readHistory(key: TokenKey): Promise<StoredHistory | undefined> {
    return this.inner.readHistory(key);
  }

  writeHistory(key: TokenKey, entries: History, expectedVersion: number | null, now: number): Promise<void> {
    return this.inner.writeHistory(key, entries, expectedVersion, now);
  }

  queryDue(shard: number, dueBefore: number, options?: { limit?: number; cursor?: string }): Promise<DuePage> {
    return this.inner.queryDue(shard, dueBefore, options);
  }
}

/**
 * Chaos 1: many sweeps (several at once) and consumer reads while the emulator clock advances and
 * every round brings its own fault — 5xx before or after the server processed the refresh, malformed
 * 200s, error bodies with 200, answers slower than the client's timeout, hung requests answered after
 * the client gave up, DynamoDB write failures before and after the write landed. Then quiet rounds,
 * and every chain is judged against the emulator.
 */
export async function runFaultStorm(options: FaultStormOptions): Promise<ChaosReport> {
  const started = performance.now();
  const world = await World.start({
    endpoint: options.endpoint,
    name: 'chaos-faults',
    env: { BITRIX_HTTP_TIMEOUT_MS: String(TIMEOUT_MS) },
    seed: options.seed,
    // DynamoDB Local deletes items whose TTL has passed by the wall clock; parked pairs carry TTLs
    // computed from the service's clock, which is the emulator's: start it at the wall clock's time.
    startAt: Math.floor(Date.now() / 60_000) * 60_000,
  });
  const unhandled: string[] = [];
  const onUnhandled = (error: unknown) => unhandled.push(`unhandledRejection: ${String(error)}`);
  process.on('unhandledRejection', onUnhandled);
  try {
    // One PRNG per purpose: the fault schedule stays the same whatever the timing of the rest.
    const random = seededRandom(options.seed);
    const faultRandom = seededRandom(options.seed + 2);
    const readRandom = seededRandom(options.seed + 3);
    const reviveRandom = seededRandom(options.seed + 4);
    // Due times spread over the first 45 minutes, as a live table's are: each round meets a few.
    const start = world.clock();
    const keys = await world.seedChains(world.addPortals(options.portals), {
      due: (index) => start + Math.round(((index + 0.5) / options.portals) * 45 * 60_000),
      installations: true,
    });
    const flaky = new FlakyRepository(world.repository, seededRandom(options.seed + 1));
    const deps: SweepDeps = { ...world.deps, repository: flaky };
    // A consumer reads the table and asks the deployed vendor handler, which refreshes through the flaky store.
    const consumer = new TokenClient({
      reader: new DynamoDbTokenReader({ client: world.dynamodb.client, tableName: world.tableName }),
      vendor: new TokenVendorClient(directInvoke(world.vendorHandler(deps), 'token-vendor')),
      now: world.clock,
      refreshFailureCooldownMs: 60_000,
    });
    const modeCounts: Record<string, number> = {};
    const diedAndReported: Record<string, number> = {};
    const unhandledSuspects: string[] = [];
    let falseReauthDuringRun = 0;
    let revived = 0;
    let internalFailures = 0;
    const consumerOutcomes: Record<string, number> = {};
    const sweepTotals = { due: 0, refreshed: 0, failed: 0, leaseHeld: 0, skipped: 0 };
    // A deck with every mode as often as its weight, reshuffled (seeded) when used up: even a short
    // storm meets every fault.
    const deck: Mode[] = [];
    const pickMode = (): Mode => {
      if (deck.length === 0) {
        for (const [mode, weight] of MODES) for (let i = 0; i < weight; i += 1) deck.push(mode);
        for (let i = deck.length - 1; i > 0; i -= 1) {
          const j = Math.floor(random() * (i + 1));
          [deck[i], deck[j]] = [deck[j] as Mode, deck[i] as Mode];
        }
      }
      return deck.pop() ?? 'none';
    };
    const faults = world.emulator.faults;

    const round = async (mode: Mode, advanceMs: number) => {
      world.emulator.clock.advance(advanceMs);
      modeCounts[mode] = (modeCounts[mode] ?? 0) + 1;
      switch (mode) {
        case 'http_5xx':
          faults.set('token', { failRate: 0.4, failStatus: [500, 502, 503][Math.floor(faultRandom() * 3)] ?? 503 });
          break;
        case 'http_5xx_after_processing':
          faults.set('token', { failRate: 0.25, failStatus: 502, applyAfter: true });
          break;
        case 'malformed_200':
          faults.set('token', { malformed200: faultRandom() < 0.5 ? 'not-json' : 'no-tokens' });
          break;
        case 'malformed_200_after_processing':
          faults.set('token', { malformed200: 'no-tokens', applyAfter: true });
          break;
        case 'error_body_200':
          faults.set('token', {
            failRate: 0.5,
            failStatus: 200,
            failBody: { error: 'temporarily_unavailable', error_description: 'try later' },
          });
          break;
        case 'timeout_slow':
          faults.set('token', { latencyMs: TIMEOUT_MS + 200 });
          break;
        case 'timeout_hang':
          faults.set('token', { hang: true });
          break;
        case 'dynamodb_write_failures':
          flaky.failBefore = 0.75;
          flaky.failAfter = 0.2;
          break;
        case 'none':
          break;
      }
      const sweeps = Array.from({ length: options.sweepers }, () =>
        world.sweep({ concurrency: 4, maxKeys: 5000 }, deps).catch((error: unknown): SweepSummary | undefined => {
          unhandled.push(`sweep threw: ${String(error)}`);
          return undefined;
        }),
      );
      const reads = Array.from({ length: options.readsPerRound }, async () => {
        const key = keys[Math.floor(readRandom() * keys.length)];
        if (key === undefined) return;
        try {
          await consumer.getAccessToken(key);
          consumerOutcomes.ok = (consumerOutcomes.ok ?? 0) + 1;
        } catch (error) {
          // Typed answers (unavailable, back-off, lease held) are what consumers are promised; anything else is a bug.
          if (error instanceof AppError) consumerOutcomes[error.code] = (consumerOutcomes[error.code] ?? 0) + 1;
          else unhandled.push(`getAccessToken threw ${String(error)}`);
        }
      });
      const [summaries] = await Promise.all([Promise.all(sweeps), Promise.all(reads)]);
      for (const summary of summaries) {
        if (summary === undefined) continue;
        sweepTotals.due += summary.due;
        sweepTotals.refreshed += summary.refreshed;
        sweepTotals.failed += summary.failed.total;
        sweepTotals.leaseHeld += summary.leaseHeld;
        sweepTotals.skipped += summary.skipped;
        internalFailures += summary.failed.byCategory.internal ?? 0;
      }
      // Healed: hung requests are answered now (the server processes them after the client gave up).
      faults.clear();
      flaky.failBefore = 0;
      flaky.failAfter = 0;
      await new Promise((resolve) => setTimeout(resolve, 20));
      await reviveDead();
    };

    /**
     * A chain the service declared dead is judged on the spot (was its refresh token really dead? what
     * reason was given?), then revived as a person would: opening the app starts a new chain. So the
     * storm keeps hitting live chains, and the new chains race the sweeps as they do in production.
     */
    const reviveDead = async () => {
      for (const key of keys) {
        const stored = await world.repository.getTokenSet(key);
        if (stored?.status !== 'reauth_required') continue;
        if (world.emulator.tokenState(stored.refreshToken).state === 'live') {
          falseReauthDuringRun += 1;
          unhandledSuspects.push(`${key.memberId}: reauth_required with a live refresh token`);
        }
        const reasons = world.notifications.published.filter(
          (c) => c.memberId === key.memberId && c.userId === key.userId && c.event === 'reauth_required',
        );
        const reason = reasons[reasons.length - 1]?.reason ?? '(no notification)';
        diedAndReported[reason] = (diedAndReported[reason] ?? 0) + 1;
        const tokens = world.emulator.issueTokens(key.memberId, key.userId);
        const now = world.clock();
        const refreshExpiresAt = now + world.deps.settings.refreshTokenLifetimeMs;
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
            refreshExpiresAt,
            nextRefreshAt: now + Math.round(reviveRandom() * 40 * 60_000),
            now,
          },
          stored.version,
        );
        revived += 1;
      }
    };

    for (let r = 0; r < options.rounds; r += 1) await round(pickMode(), 5 * 60_000);
    for (let r = 0; r < options.settleRounds; r += 1) await round('none', 10 * 60_000);
    const errors = world.logger.at('error').map((line) => {
      const error = line.attributes.error;
      return {
        message: line.message,
        errorName: error instanceof Error ? error.name : undefined,
        errorMessage: error instanceof Error ? error.message : undefined,
      };
    });
    // A sweep counts an exception that is not a refresh outcome as `internal` and logs it. The ones
    // caused by our injected DynamoDB failures are the store failing, as meant; any other is a bug.
    const crashes = errors.filter((e) => e.message === 'refresh of a due token set crashed');
    const fromInjected = crashes.filter((e) => e.errorMessage?.startsWith('injected:') === true).length;
    if (crashes.length !== internalFailures)
      unhandled.push(`sweeps counted ${internalFailures} internal failures, the log shows ${crashes.length}`);
    for (const crash of crashes.filter((e) => e.errorMessage?.startsWith('injected:') !== true)) {
      unhandled.push(`refresh crashed: ${crash.errorName}: ${crash.errorMessage}`);
    }

    const verdict = await judgeChains(world.emulator, world.repository, keys, world.notifications.published);
    // Parked pairs still in the table at the end: stale ones (for an older state of the chain) are
    // harmless; one that still fits the stored refresh token would be a chain waiting to be repaired.
    // Every recovery item of each token set (one per spent token, `RECOVERY#{userId}#{hash}`), not only
    // the one for the stored token.
    const parkedLeft = { stale: 0, staleAfterALandedWrite: 0, applicable: 0 };
    for (const key of keys) {
      const stored = await world.repository.getTokenSet(key);
      for (const parked of await recoveryItemsOf(world.dynamodb.client, world.tableName, key)) {
        if (parked.usedRefreshToken === stored?.refreshToken) parkedLeft.applicable += 1;
        else {
          parkedLeft.stale += 1;
          if (flaky.landedButFailed.has(`${key.memberId}#${key.userId}`)) parkedLeft.staleAfterALandedWrite += 1;
        }
      }
    }
    const counters = world.emulator.counters;
    const notifications: Record<string, number> = {};
    for (const change of world.notifications.published)
      notifications[change.event] = (notifications[change.event] ?? 0) + 1;
    return {
      name: 'fault storm',
      gate: {
        lostSilently: verdict.lostSilently,
        falseReauth: verdict.falseReauth + falseReauthDuringRun,
        unhandledErrors: unhandled.length,
        http5xx: 0,
        writesFromRejectedInput: 0,
      },
      observed: {
        portals: options.portals,
        rounds: options.rounds,
        settleRounds: options.settleRounds,
        sweepers: options.sweepers,
        simulatedMinutes: options.rounds * 5 + options.settleRounds * 10,
        faultRounds: modeCounts,
        injectedAtServer: counters.faults.token ?? {},
        injectedDynamoDbWriteFailures: flaky.injected,
        internalFailuresFromInjectedWrites: fromInjected,
        serviceErrorLogLines: errors.length,
        refreshOutcomes: world.refreshOutcomes(),
        sweeps: sweepTotals,
        consumerReads: consumerOutcomes,
        notifications,
        lostWritesParked: world.metrics.get('LostWrite{parked=true}'),
        parkedPairsApplied: world.metrics.get('RecoveryApplied'),
        parkedPairsLeft: parkedLeft,
        chains: verdict,
        diedAndReported,
        revivedByNewChain: revived,
        suspects: [...unhandledSuspects, ...verdict.suspects].slice(0, 10),
        unhandled: unhandled.slice(0, 10),
        seconds: Math.round((performance.now() - started) / 1000),
      },
    };
  } finally {
    process.off('unhandledRejection', onUnhandled);
    await world.stop();
  }
}
