import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbTokenRepository } from '#shared/adapters/dynamodb/token-repository.js';
import { withLiveRun } from '#shared/core/domain/token-history.js';
import type { TokenKey } from '#shared/core/domain/token-set.js';
import type { SweepDeps } from '#shared/core/use-cases/sweep-due-tokens.js';
import { sweepDueTokens } from '#shared/core/use-cases/sweep-due-tokens.js';
import { ConsumedCapacityRecorder } from '#test/helpers/harnesses/consumed-capacity.js';
import { emulatorRefreshDeps } from '#test/helpers/harnesses/emulator-refresh.js';
import { type RefreshHarness, startRefreshHarness } from '#test/helpers/harnesses/refresh.js';

/** Scopes of a busy app, the longest list a token set is likely to carry. */
const LONG_SCOPE =
  'crm,task,user,department,im,imbot,entity,placement,bizproc,lists,disk,calendar,telephony,log,sonet_group,timeman,landing,catalog,sale';

let h: RefreshHarness;
let recorder: ConsumedCapacityRecorder;
let deps: SweepDeps;

beforeEach(async () => {
  h = await startRefreshHarness({ timeoutMs: 2000, dueShards: 4 });
  recorder = new ConsumedCapacityRecorder();
  // The production wiring of the refresh path (the sweep records that our credentials were accepted),
  // every request through the recording client.
  deps = emulatorRefreshDeps({
    emulator: h.emulator,
    client: recorder.client,
    tableName: h.table.tableName,
    repository: new DynamoDbTokenRepository({ client: recorder.client, tableName: h.table.tableName, dueShards: 4 }),
    oauth: h.oauthClient(),
    credentials: { clientId: h.emulator.app().clientId, clientSecret: h.emulator.app().clientSecret },
    notifications: h.notifications,
    metrics: h.metrics,
    settings: h.settings,
  });
});
afterEach(async () => {
  recorder.destroy();
  await h.stop();
});

async function seed(count: number): Promise<TokenKey[]> {
  const seeded: TokenKey[] = [];
  for (let i = 0; i < count; i += 1) {
    const { key } = await h.seedPortal({
      domain: `a-fairly-long-company-name-${i}-${Math.random().toString(36).slice(2, 8)}.bitrix24.com`,
      scope: LONG_SCOPE,
    });
    seeded.push(key);
  }
  return seeded;
}

/** Moves the emulator clock to the latest due time of `keys`. */
async function advanceToDue(keys: readonly TokenKey[]): Promise<void> {
  let latest = 0;
  for (const key of keys) latest = Math.max(latest, (await h.get(key)).nextRefreshAt ?? 0);
  const delta = latest - h.emulator.clock.now();
  if (delta > 0) h.emulator.clock.advance(delta);
}

async function sweep() {
  return sweepDueTokens({ remainingMs: () => 60_000, concurrency: 4, maxKeys: 5000 }, deps);
}

describe('write units of a refresh, measured on DynamoDB Local (ReturnConsumedCapacity: INDEXES)', () => {
  it('a routine refresh writes at most 4 units including the due index, and nothing but its token set', async () => {
    // Prepare: 10 token sets with long scopes and hosts, each refreshed once (the run opens: the
    // history item is written then)
    const keys = await seed(10);
    await advanceToDue(keys);
    expect((await sweep()).refreshed).toBe(10);
    await advanceToDue(keys);
    recorder.reset();

    // Act: the next sweep, a routine refresh of each
    const summary = await sweep();

    // Assess: per refresh a lease (1 unit) and the fenced write (1 unit, 2 for moving the due entry)
    expect(summary.refreshed).toBe(10);
    const tokenWrites = recorder.requests.filter((r) => r.target === 'TOKEN' && r.command === 'UpdateItem');
    expect(tokenWrites).toHaveLength(20);
    expect(recorder.writeUnits('TOKEN')).toBe(40);
    expect(recorder.writeUnits('TOKEN') / summary.refreshed).toBeLessThanOrEqual(4);
    expect(tokenWrites.every((r) => r.table === 1)).toBe(true);
    // No history write, no recovery item; the credentials record is one per process and minute, not per refresh
    expect(recorder.writeUnits('HISTORY')).toBe(0);
    expect(recorder.writeUnits('RECOVERY')).toBe(0);
    expect(recorder.writeUnits('APP')).toBe(1);
    expect(recorder.writeUnits()).toBe(41);
  });

  it('the history item is written when the timeline changes shape, and the timeline still counts routine refreshes', async () => {
    // Prepare
    const [key] = await seed(1);
    if (key === undefined) throw new Error('not seeded');
    await advanceToDue([key]);
    await sweep();
    recorder.reset();

    // Act: three routine refreshes, then a refresh after a gap (the access token expired meanwhile)
    for (let i = 0; i < 3; i += 1) {
      await advanceToDue([key]);
      await sweep();
    }
    const routine = recorder.writeUnits('HISTORY');
    const beforeGap = await h.get(key);
    h.emulator.clock.advance(beforeGap.accessExpiresAt - h.emulator.clock.now() + 60_000);
    await sweep();

    // Assess: no history write for the routine ones; one (1 unit) for the new run
    expect(routine).toBe(0);
    expect(recorder.writeUnits('HISTORY')).toBe(1);
    const after = await h.get(key);
    const stored = await h.repository.readHistory(key);
    const timeline = withLiveRun(stored?.entries ?? [], after);
    const runs = timeline.filter((entry) => entry.kind === 'access');
    expect(runs.map((run) => run.kind === 'access' && run.refreshes)).toEqual([4, 1]);
  });
});
