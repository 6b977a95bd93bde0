import { performance } from 'node:perf_hooks';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Results } from '#bench/lib/results.js';
import { rowKey, type SdkRow } from '#bench/lib/sdk-rows.js';
import { median, seededRandom } from '#bench/lib/stats.js';
import { planKill, WorkerProcess } from '#bench/lib/worker-process.js';
import { World } from '#bench/lib/world.js';
import { ensureTable } from '#local/create-table.js';
import type { EmulatorPortal } from '#local/emulator/index.js';
import { startSecretsManagerServer } from '#local/secrets-manager-server.js';
import { HOUR } from '#shared/core/domain/time.js';
import type { TokenStatusChange } from '#shared/core/ports/notification-publisher.js';

export interface SdkComparisonOptions {
  readonly endpoint: string;
  readonly portals: number;
  readonly processes: number;
  /** Rounds of the concurrent pass; each starts one hour and one minute after the previous (every access token expired). */
  readonly rounds: number;
  /** Rounds of the pass with a SIGKILL in each. */
  readonly killRounds: number;
  readonly tokenLatencyMs: number;
  readonly seed: number;
}

type Side = 'sdk' | 'service';

interface RoundOutcome {
  readonly authorizationServerCalls: number;
  readonly refreshOk: number;
  readonly invalidGrant: number;
  readonly restOk: number;
  readonly restFailed: number;
  readonly callsOfKilledProcess: number;
  readonly killed: boolean;
  readonly durationMs: number;
}

interface PassOutcome {
  readonly rounds: RoundOutcome[];
  readonly chainsLost: number;
  readonly lostSurfaced: number;
  readonly lostSilently: number;
  readonly falseReauth: number;
}

/**
 * A 5-second lease, so a killed process's lease is taken over within the run; the HTTP timeout and
 * every DynamoDB call (all of its attempts) must end inside it, as the configuration requires.
 */
const SHORT_LEASE = {
  REFRESH_LEASE_SECONDS: '5',
  BITRIX_HTTP_TIMEOUT_MS: '3000',
  DYNAMODB_REQUEST_TIMEOUT_MS: '1000',
  DYNAMODB_CONNECT_TIMEOUT_MS: '500',
} as const;

const SDK_WORKER = 'bench/workers/sdk-app-worker.ts';
const SERVICE_WORKER = 'bench/workers/consumer-worker.ts';
/** Rounds without kills at the end of each pass: a dead chain shows (the service concludes after its grace period). */
const QUIET_ROUNDS = 2;

/**
 * Benchmark 5: the official SDK's refresh-on-401 against this service, side by side on one emulator.
 * `processes` processes of each kind serve the same `portals` portals; every round starts after the
 * access tokens expired, and every process makes one REST call per portal, all at once (as several
 * Lambda containers or servers do). Pass "concurrent": no faults. Pass "killed": in every round one
 * process of the side is SIGKILLed at a seeded moment. Two quiet rounds end each pass, so a dead chain
 * shows (to the service: `reauth_required` with its reason). A chain is lost when the stored refresh
 * token (the SDK's row, the service's token set) is no longer the live one of its chain.
 */
export async function benchSdkComparison(options: SdkComparisonOptions, results: Results): Promise<void> {
  const world = await World.start({
    endpoint: options.endpoint,
    name: 'bench-sdk',
    env: { ...SHORT_LEASE },
    startAt: Date.now(),
  });
  const app = world.emulator.app();
  const rowsTable = `${world.tableName}-rows`;
  await ensureTable(world.dynamodb.client, rowsTable);
  const doc = DynamoDBDocumentClient.from(world.dynamodb.client);
  const secrets = await startSecretsManagerServer({
    creds: JSON.stringify({ clientId: app.clientId, clientSecret: app.clientSecret }),
  });
  const workerEnv = {
    ...world.processEnv(secrets.endpoint),
    ...SHORT_LEASE,
    ROWS_TABLE: rowsTable,
    APP_CLIENT_ID: app.clientId,
    APP_CLIENT_SECRET: app.clientSecret,
  };
  const random = seededRandom(options.seed);
  const workers: Record<Side, WorkerProcess[]> = { sdk: [], service: [] };
  const start = (side: Side) => WorkerProcess.start(side === 'sdk' ? SDK_WORKER : SERVICE_WORKER, workerEnv);
  const notifications: TokenStatusChange[] = [];
  const collect = (worker: WorkerProcess) => {
    notifications.push(...(worker.notifications.splice(0) as TokenStatusChange[]));
  };
  try {
    for (const side of ['sdk', 'service'] as const) {
      workers[side] = await Promise.all(Array.from({ length: options.processes }, () => start(side)));
    }
    world.emulator.faults.set('token', { latencyMs: options.tokenLatencyMs });

    /** Chains for one pass: an SDK row and a service token set per portal, each its own chain. */
    const seedPass = async (name: string): Promise<EmulatorPortal[]> => {
      const portals = world.addPortals(options.portals, `${name}-`);
      await world.seedChains(portals, { due: false, installations: true });
      for (const portal of portals) {
        const tokens = world.emulator.issueTokens(portal);
        const row: SdkRow = {
          memberId: portal.memberId,
          accessToken: tokens.accessToken,
          refreshToken: tokens.refreshToken,
          expires: tokens.expires,
          clientEndpoint: portal.clientEndpoint,
          serverEndpoint: portal.serverEndpoint,
          domain: portal.domain,
          userId: tokens.userId,
        };
        await doc.send(new PutCommand({ TableName: rowsTable, Item: { ...rowKey(portal.memberId), ...row } }));
      }
      return portals;
    };

    const durations: Record<Side, number[]> = { sdk: [], service: [] };
    const round = async (side: Side, portals: readonly EmulatorPortal[], kill: boolean): Promise<RoundOutcome> => {
      const memberIds = portals.map((p) => p.memberId);
      world.emulator.resetCounters();
      const started = performance.now();
      const pending = workers[side].map((worker) => worker.request({ op: 'round', now: world.clock(), memberIds }));
      const typical = median(durations[side]);
      const planned = kill
        ? planKill(workers[side], random, {
            tokenLatencyMs: options.tokenLatencyMs,
            typicalRoundMs: Number.isFinite(typical) ? typical : 1000,
          })
        : undefined;
      const answers = await Promise.all(pending);
      const durationMs = performance.now() - started;
      if (!kill) durations[side].push(durationMs);
      let restOk = 0;
      let restFailed = 0;
      // A killed process answers nothing: its calls are neither ok nor failed, only gone.
      let callsOfKilledProcess = 0;
      for (const [index, answer] of answers.entries()) {
        const worker = workers[side][index];
        if (worker !== undefined) collect(worker);
        if (answer.type === 'result') {
          restOk += Number(answer.ok);
          restFailed += Number(answer.failed);
        } else if (planned?.fired() === true && worker === planned.victim()) callsOfKilledProcess += memberIds.length;
        else throw new Error(`${side} worker failed: ${JSON.stringify(answer)}`);
      }
      planned?.cancel();
      const victim = planned?.victim();
      if (victim !== undefined && planned?.fired() === true) {
        await victim.exited;
        const replacement = await start(side);
        workers[side] = workers[side].map((w) => (w === victim ? replacement : w));
      }
      const outcomes = world.refreshOutcomes();
      return {
        authorizationServerCalls: Object.values(outcomes).reduce((sum, n) => sum + n, 0),
        refreshOk: outcomes.ok ?? 0,
        invalidGrant: outcomes.invalid_grant ?? 0,
        restOk,
        restFailed,
        callsOfKilledProcess,
        killed: planned?.fired() === true,
        durationMs: Math.round(durationMs),
      };
    };

    const verdict = async (side: Side, portals: readonly EmulatorPortal[]): Promise<Omit<PassOutcome, 'rounds'>> => {
      let chainsLost = 0;
      let lostSurfaced = 0;
      let lostSilently = 0;
      let falseReauth = 0;
      for (const portal of portals) {
        if (side === 'sdk') {
          const { Item } = await doc.send(
            new GetCommand({ TableName: rowsTable, Key: rowKey(portal.memberId), ConsistentRead: true }),
          );
          const live = world.emulator.tokenState(String((Item as SdkRow | undefined)?.refreshToken)).state === 'live';
          // The app has nothing that tells anybody: its next call fails with invalid_grant, that is all.
          if (!live) {
            chainsLost += 1;
            lostSilently += 1;
          }
        } else {
          const stored = await world.tokenSet({ memberId: portal.memberId, userId: 1 });
          const live = world.emulator.tokenState(stored.refreshToken).state === 'live';
          if (!live) chainsLost += 1;
          if (!live && stored.status === 'reauth_required') lostSurfaced += 1;
          else if (!live) lostSilently += 1;
          else if (stored.status === 'reauth_required') falseReauth += 1;
        }
      }
      return { chainsLost, lostSurfaced, lostSilently, falseReauth };
    };

    const passes: Record<string, Record<Side, PassOutcome>> = {};
    for (const pass of ['concurrent', 'killed'] as const) {
      const portals = await seedPass(pass);
      const rounds: Record<Side, RoundOutcome[]> = { sdk: [], service: [] };
      const loud = pass === 'killed' ? options.killRounds : options.rounds;
      for (let r = 0; r < loud + QUIET_ROUNDS; r += 1) {
        world.emulator.clock.advance(HOUR + 60_000);
        const kill = pass === 'killed' && r < loud;
        for (const side of ['sdk', 'service'] as const) rounds[side].push(await round(side, portals, kill));
      }
      passes[pass] = {
        sdk: { rounds: rounds.sdk, ...(await verdict('sdk', portals)) },
        service: { rounds: rounds.service, ...(await verdict('service', portals)) },
      };
      process.stdout.write(
        `  ${pass}: SDK ${JSON.stringify(summarize(passes[pass].sdk))}\n  ${pass}: service ${JSON.stringify(summarize(passes[pass].service))}\n`,
      );
    }

    for (const [pass, sides] of Object.entries(passes)) {
      for (const side of ['sdk', 'service'] as const) {
        const s = summarize(sides[side]);
        const params = {
          portals: options.portals,
          processes: options.processes,
          rounds: pass === 'killed' ? options.killRounds : options.rounds,
          quietRounds: QUIET_ROUNDS,
          kills: s.kills,
          tokenLatencyMs: options.tokenLatencyMs,
          seed: options.seed,
        };
        const who = side === 'sdk' ? 'b24jssdk refresh-on-401' : 'this service';
        const p = `sdk.${pass}.${side}`;
        results.add(
          'sdk',
          `${p}.authCallsPerExpiry`,
          `${who}, ${pass}: calls to the authorization server per portal per expiry`,
          s.authCallsPerPortalExpiry,
          'calls',
          params,
        );
        results.add(
          'sdk',
          `${p}.invalidGrant`,
          `${who}, ${pass}: invalid_grant answers`,
          s.invalidGrant,
          'answers',
          params,
        );
        results.add('sdk', `${p}.restFailed`, `${who}, ${pass}: REST calls that failed`, s.restFailed, 'calls', {
          ...params,
          restCalls: s.restCalls,
        });
        results.add('sdk', `${p}.chainsLost`, `${who}, ${pass}: refresh chains lost`, s.chainsLost, 'chains', params);
        results.add(
          'sdk',
          `${p}.lostSilently`,
          `${who}, ${pass}: chains lost without anybody being told`,
          s.lostSilently,
          'chains',
          params,
        );
      }
    }
    results.detail('sdkComparison', {
      passes,
      notifications: notifications.map(({ event, reason, memberId }) => ({ event, reason, memberId })),
    });
  } finally {
    for (const worker of [...workers.sdk, ...workers.service]) await worker.stop();
    await secrets.stop();
    await world.stop();
  }

  function summarize(outcome: PassOutcome) {
    const sum = (pick: (r: RoundOutcome) => number) => outcome.rounds.reduce((n, r) => n + pick(r), 0);
    const expiries = options.portals * outcome.rounds.length;
    return {
      authorizationServerCalls: sum((r) => r.authorizationServerCalls),
      authCallsPerPortalExpiry: Number((sum((r) => r.authorizationServerCalls) / expiries).toFixed(3)),
      refreshOk: sum((r) => r.refreshOk),
      invalidGrant: sum((r) => r.invalidGrant),
      restCalls: sum((r) => r.restOk + r.restFailed),
      restFailed: sum((r) => r.restFailed),
      kills: outcome.rounds.filter((r) => r.killed).length,
      callsOfKilledProcesses: sum((r) => r.callsOfKilledProcess),
      chainsLost: outcome.chainsLost,
      lostSurfaced: outcome.lostSurfaced,
      lostSilently: outcome.lostSilently,
      falseReauth: outcome.falseReauth,
    };
  }
}
