/**
 * Write units of one routine refresh, measured against whatever `shared/` sits next to this file: the
 * fan-out benchmark copies it into an export of an earlier commit to measure "before" with that
 * commit's own repository. It prints one JSON line: `{ lease, complete, total, historyEntries }`
 * (table plus index units, `ReturnConsumedCapacity: INDEXES`). Every call here exists in both versions.
 *
 * Env: AWS_ENDPOINT_URL_DYNAMODB, TABLE_NAME (an existing token table), FAILURE_EPISODES (0).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbTokenRepository } from '#shared/adapters/dynamodb/token-repository.js';
import * as history from '#shared/core/domain/token-history.js';

const SCOPE =
  'crm,task,user,department,im,imbot,entity,placement,bizproc,lists,disk,calendar,telephony,log,sonet_group,timeman,landing,catalog,sale';

const units: number[] = [];
const client = new DynamoDBClient({});
client.middlewareStack.add(
  (next) => async (args) => {
    (args.input as Record<string, unknown>).ReturnConsumedCapacity = 'INDEXES';
    const result = await next(args);
    const consumed = (
      result.output as {
        ConsumedCapacity?: {
          Table?: { CapacityUnits?: number };
          GlobalSecondaryIndexes?: Record<string, { CapacityUnits?: number }>;
        };
      }
    ).ConsumedCapacity;
    units.push(
      (consumed?.Table?.CapacityUnits ?? 0) +
        Object.values(consumed?.GlobalSecondaryIndexes ?? {}).reduce((n, i) => n + (i.CapacityUnits ?? 0), 0),
    );
    return result;
  },
  { step: 'initialize', name: 'writeUnitsProbe' },
);

const repository = new DynamoDbTokenRepository({ client, tableName: process.env.TABLE_NAME ?? '', dueShards: 16 });
const now = Date.UTC(2026, 2, 1);
const memberId = `probe${Math.random().toString(36).slice(2, 10)}`;
const key = { memberId, userId: 1 };
const token = () => `${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`.padEnd(70, 'x');
const issued = (at: number) => ({
  accessToken: token(),
  refreshToken: token(),
  accessExpiresAt: at + 3_600_000,
  refreshIssuedAt: at,
  memberId,
  userId: 1,
  clientEndpoint: 'https://a-fairly-long-company-name.bitrix24.com/rest/',
  serverEndpoint: 'https://oauth.bitrix.info/rest/',
  scope: SCOPE,
  appStatus: 'L',
});
// Loosely typed on purpose: the two versions differ in the optional history fields they take.
// biome-ignore lint/suspicious/noExplicitAny: runs against two versions of the repository
const repo = repository as any;
// biome-ignore lint/suspicious/noExplicitAny: the same
const h = history as any;

const first = issued(now);
let entries = h.withChain(undefined, {
  at: now,
  source: 'install_event',
  accessExpiresAt: first.accessExpiresAt,
  refreshed: true,
});
let stored = await repo.storeNewChain(
  {
    ...first,
    source: 'install_event',
    refreshExpiresAt: now + 30 * 86_400_000,
    nextRefreshAt: now - 1,
    history: entries,
    runRefreshes: 1,
    now,
  },
  null,
);
// A past of `FAILURE_EPISODES` transient failures, each followed by a refresh after the gap it left:
// what the status page's timeline keeps (at most 12 entries).
const episodes = Number(process.env.FAILURE_EPISODES ?? 0);
for (let i = 0; i < episodes; i += 1) {
  const at = now - (episodes - i) * 86_400_000;
  entries = h.withFailure(entries, { at, category: 'transient', code: 'http_503', status: 'active' });
  entries = h.withRefresh(entries, { at: at + 7_200_000, accessExpiresAt: at + 10_800_000 });
}
// Two routine refreshes, 45 minutes apart, each a lease then the fenced write; the second is measured.
let measured = { lease: 0, complete: 0 };
for (let round = 1; round <= 2; round += 1) {
  const at = now + round * 45 * 60_000;
  const next = issued(at);
  entries = h.withRefresh(entries, { at, accessExpiresAt: next.accessExpiresAt });
  units.length = 0;
  await repo.acquireLease(key, { owner: `probe-${round}`, now: at, leaseMs: 30_000 });
  const lease = units.reduce((n, u) => n + u, 0);
  units.length = 0;
  stored = await repo.completeRefresh(key, {
    owner: `probe-${round}`,
    usedRefreshToken: stored.refreshToken,
    issued: next,
    refreshExpiresAt: at + 30 * 86_400_000,
    nextRefreshAt: at + 45 * 60_000,
    history: entries,
    runRefreshes: round + 1,
    now: at,
  });
  measured = { lease, complete: units.reduce((n, u) => n + u, 0) };
}
client.destroy();
process.stdout.write(
  `${JSON.stringify({ ...measured, total: measured.lease + measured.complete, historyEntries: entries.length })}\n`,
);
