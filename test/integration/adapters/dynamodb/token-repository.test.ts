import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbPortalListing } from '#shared/adapters/dynamodb/portal-listing.js';
import { DynamoDbRecoveryStore } from '#shared/adapters/dynamodb/recovery-store.js';
import { DynamoDbTokenRepository } from '#shared/adapters/dynamodb/token-repository.js';
import {
  LeaseHeldError,
  PortalNotFoundError,
  StoredItemError,
  TokenConflictError,
} from '#shared/core/domain/errors.js';
import { DAY, HOUR } from '#shared/core/domain/time.js';
import { withChain, withFailure, withLiveRun } from '#shared/core/domain/token-history.js';
import { issued, memberId, newChain, token } from '#test/helpers/builders/fixtures.js';
import { ConsumedCapacityRecorder } from '#test/helpers/harnesses/consumed-capacity.js';
import { createTestTable, type TestTable } from '#test/helpers/harnesses/table.js';

let table: TestTable;
let repo: DynamoDbTokenRepository;

beforeAll(async () => {
  table = await createTestTable('repo');
  repo = new DynamoDbTokenRepository({ client: table.client, tableName: table.tableName, dueShards: 3 });
});
afterAll(async () => {
  await table.drop();
});

/** A client of its own that notes each request it sends (to count requests per operation). */
function countingClient(names: string[]): DynamoDBDocumentClient {
  const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}));
  documents.middlewareStack.add(
    (next, context) => async (args) => {
      names.push(String(context.commandName));
      return next(args);
    },
    { step: 'finalizeRequest', name: 'countRequests' },
  );
  return documents;
}

describe('DynamoDbTokenRepository (DynamoDB Local)', () => {
  it('stores a new chain and reads it back with version 1 and the portal host from client_endpoint', async () => {
    // Prepare
    const input = newChain({ clientEndpoint: 'https://alpha.bitrix24.com/rest/' });

    // Act
    const stored = await repo.storeNewChain(input, null);
    const read = await repo.getTokenSet({ memberId: input.memberId, userId: 1 });

    // Assess
    expect(stored.version).toBe(1);
    expect(read).toEqual(stored);
    expect(read?.domain).toBe('alpha.bitrix24.com');
    expect(read?.status).toBe('active');
    expect(read?.nextRefreshAt).toBe(input.nextRefreshAt);
  });

  it('refuses to create a chain twice and to replace it at a stale version', async () => {
    // Prepare
    const input = newChain();
    const first = await repo.storeNewChain(input, null);

    // Act / Assess
    await expect(repo.storeNewChain(input, null)).rejects.toBeInstanceOf(TokenConflictError);
    await repo.storeNewChain({ ...input, accessToken: token() }, first.version);
    await expect(repo.storeNewChain({ ...input, accessToken: token() }, first.version)).rejects.toBeInstanceOf(
      TokenConflictError,
    );
  });

  it('lets exactly one of two writers racing on one version win, and keeps the winner', async () => {
    // Prepare
    const input = newChain();
    const stored = await repo.storeNewChain(input, null);
    const a = { ...input, accessToken: token(), refreshToken: token() };
    const b = { ...input, accessToken: token(), refreshToken: token() };

    // Act
    const results = await Promise.allSettled([
      repo.storeNewChain(a, stored.version),
      repo.storeNewChain(b, stored.version),
    ]);

    // Assess
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect((lost[0] as PromiseRejectedResult).reason).toBeInstanceOf(TokenConflictError);
    const final = await repo.getTokenSet({ memberId: input.memberId, userId: 1 });
    const winner = (won[0] as PromiseFulfilledResult<{ refreshToken: string }>).value;
    expect(final?.refreshToken).toBe(winner.refreshToken);
    expect(final?.version).toBe(2);
  });

  it('grants the refresh lease to one of many concurrent workers', async () => {
    // Prepare
    const input = newChain();
    await repo.storeNewChain(input, null);
    const key = { memberId: input.memberId, userId: 1 };
    const now = Date.now();

    // Act
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => repo.acquireLease(key, { owner: `w${i}`, now, leaseMs: 30_000 })),
    );

    // Assess
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results.filter((x) => x.status === 'rejected')) {
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(LeaseHeldError);
    }
  });

  it('lets a worker take over a lease that expired and reports whose it was', async () => {
    // Prepare
    const input = newChain();
    await repo.storeNewChain(input, null);
    const key = { memberId: input.memberId, userId: 1 };
    const t0 = Date.now();
    await repo.acquireLease(key, { owner: 'crashed', now: t0, leaseMs: 1_000 });

    // Act
    const early = await repo
      .acquireLease(key, { owner: 'next', now: t0 + 500, leaseMs: 1_000 })
      .catch((e: unknown) => e);
    const late = await repo.acquireLease(key, { owner: 'next', now: t0 + 1_001, leaseMs: 1_000 });

    // Assess
    expect(early).toBeInstanceOf(LeaseHeldError);
    expect(late.tookOver).toEqual({ owner: 'crashed', leaseUntil: t0 + 1_000 });
    expect(late.tokenSet.leaseOwner).toBe('next');
  });

  it('takes a lease at an expected version only', async () => {
    // Prepare
    const input = newChain();
    const stored = await repo.storeNewChain(input, null);
    const key = { memberId: input.memberId, userId: 1 };

    // Act / Assess
    await expect(
      repo.acquireLease(key, { owner: 'w', now: Date.now(), leaseMs: 1000, expectedVersion: stored.version + 1 }),
    ).rejects.toBeInstanceOf(TokenConflictError);
    await expect(
      repo.acquireLease({ memberId: memberId(), userId: 1 }, { owner: 'w', now: Date.now(), leaseMs: 1000 }),
    ).rejects.toBeInstanceOf(PortalNotFoundError);
  });

  it('writes a refreshed pair only while the spent refresh token is still stored (the fence)', async () => {
    // Prepare
    const input = newChain({ scope: 'crm,user' });
    const stored = await repo.storeNewChain(input, null);
    const key = { memberId: input.memberId, userId: 1 };
    const now = Date.now();
    await repo.acquireLease(key, { owner: 'a', now, leaseMs: 30_000 });
    const next = issued({ memberId: input.memberId, scope: 'app' });

    // Act
    const refreshed = await repo.completeRefresh(key, {
      owner: 'a',
      usedRefreshToken: stored.refreshToken,
      issued: next,
      refreshExpiresAt: now + 30 * DAY,
      nextRefreshAt: now + 50 * 60_000,
      runRefreshes: 1,
      now,
    });
    const late = repo.completeRefresh(key, {
      owner: 'b',
      usedRefreshToken: stored.refreshToken,
      issued: issued({ memberId: input.memberId }),
      refreshExpiresAt: now + 30 * DAY,
      runRefreshes: 1,
      now,
    });

    // Assess
    expect(refreshed.refreshToken).toBe(next.refreshToken);
    expect(refreshed.version).toBe(stored.version + 1);
    expect(refreshed.leaseOwner).toBeUndefined();
    expect(refreshed.scope).toBe('crm,user');
    expect(refreshed.source).toBe('refresh');
    await expect(late).rejects.toBeInstanceOf(TokenConflictError);
    expect((await repo.getTokenSet(key))?.refreshToken).toBe(next.refreshToken);
  });

  it('records a failure, leaves the due index when not refreshable, and keeps the tokens', async () => {
    // Prepare
    const input = newChain();
    const stored = await repo.storeNewChain(input, null);
    const key = { memberId: input.memberId, userId: 1 };
    const now = Date.now();
    await repo.acquireLease(key, { owner: 'a', now, leaseMs: 30_000 });

    // Act
    const failed = await repo.recordFailure(key, {
      owner: 'a',
      usedRefreshToken: stored.refreshToken,
      failure: { category: 'invalid_grant', code: 'invalid_grant', message: 'chain dead', at: now },
      status: 'reauth_required',
      consecutiveFailures: 1,
      nextRefreshAt: now + HOUR,
      now,
    });

    // Assess
    expect(failed.status).toBe('reauth_required');
    expect(failed.nextRefreshAt).toBeUndefined();
    expect(failed.leaseOwner).toBeUndefined();
    expect(failed.refreshToken).toBe(stored.refreshToken);
    expect(failed.lastFailure).toEqual({
      category: 'invalid_grant',
      code: 'invalid_grant',
      message: 'chain dead',
      at: now,
    });
  });

  it('keeps the history in an item of its own: a refresh that extends the run writes only the token set', async () => {
    // Prepare
    const t0 = Date.now();
    const input = newChain({ refreshIssuedAt: t0 });
    const key = { memberId: input.memberId, userId: 1 };
    const chainHistory = withChain(undefined, {
      at: t0,
      source: 'install_event',
      accessExpiresAt: t0 + HOUR,
      refreshed: true,
    });
    await repo.storeNewChain({ ...input, refreshedAt: t0, runRefreshes: 1 }, null);
    await repo.writeHistory(key, chainHistory, null, t0);
    const next = issued({ memberId: input.memberId, refreshIssuedAt: t0 + 45 * 60_000 });
    const requests: string[] = [];
    const counting = new DynamoDbTokenRepository({
      client: countingClient(requests),
      tableName: table.tableName,
      dueShards: 3,
    });

    // Act: a routine refresh (the access token was still valid), then a failure recorded with its history
    await counting.acquireLease(key, { owner: 'w', now: t0 + 45 * 60_000, leaseMs: 30_000 });
    await counting.completeRefresh(key, {
      owner: 'w',
      usedRefreshToken: input.refreshToken,
      issued: next,
      refreshExpiresAt: next.refreshIssuedAt + 30 * DAY,
      runRefreshes: 2,
      now: t0 + 45 * 60_000,
    });
    const refreshed = await repo.getTokenSet(key);
    const routine = [...requests];
    const stored = await counting.readHistory(key);
    await counting.recordFailure(key, {
      usedRefreshToken: next.refreshToken,
      failure: { category: 'invalid_grant', code: 'invalid_grant', message: 'dead', at: t0 + 31 * DAY },
      status: 'reauth_required',
      consecutiveFailures: 1,
      now: t0 + 31 * DAY,
    });
    await counting.writeHistory(
      key,
      withFailure(withLiveRun(stored?.entries ?? [], refreshed ?? input), {
        at: t0 + 31 * DAY,
        category: 'invalid_grant',
        code: 'invalid_grant',
        status: 'reauth_required',
      }),
      stored?.version ?? null,
      t0 + 31 * DAY,
    );
    const failed = await repo.getTokenSet(key);
    const listed = await new DynamoDbPortalListing({
      client: table.client,
      tableName: table.tableName,
    }).listPortalSummaries();

    // Assess: the refresh is two requests (lease, pair); the history item was not touched by it
    expect(routine.filter((name) => /ItemCommand$|^QueryCommand$|^ScanCommand$/.test(name))).toEqual([
      'UpdateItemCommand',
      'UpdateItemCommand',
    ]);
    expect(refreshed?.runRefreshes).toBe(2);
    expect(stored).toEqual({ entries: chainHistory, version: 1 });
    expect(withLiveRun(stored?.entries ?? [], refreshed ?? input)).toEqual([
      { kind: 'chain', at: t0, source: 'install_event' },
      { kind: 'access', from: t0, until: next.accessExpiresAt, refreshes: 2, lastAt: t0 + 45 * 60_000 },
    ]);
    // Assess: the failure closed the run on the token set and in the history
    expect(failed?.runRefreshes).toBeUndefined();
    const history = await repo.readHistory(key);
    expect(history?.version).toBe(2);
    expect(history?.entries.at(-2)).toEqual({
      kind: 'access',
      from: t0,
      until: next.accessExpiresAt,
      refreshes: 2,
      lastAt: t0 + 45 * 60_000,
    });
    expect(history?.entries.at(-1)).toEqual({
      kind: 'failure',
      from: t0 + 31 * DAY,
      to: t0 + 31 * DAY,
      count: 1,
      category: 'invalid_grant',
      code: 'invalid_grant',
      status: 'reauth_required',
    });
    // Assess: the listing hands out the history item (no token in it)
    const summary = listed.histories.find((h) => h.memberId === input.memberId);
    expect(summary?.entries).toEqual(history?.entries);
    expect(JSON.stringify(listed.histories)).not.toContain(next.refreshToken);
  });

  it('refuses a history write that lost a race, and deletes histories with the token sets', async () => {
    // Prepare
    const input = newChain({});
    const key = { memberId: input.memberId, userId: 1 };
    await repo.storeNewChain(input, null);
    const entries = withChain(undefined, { at: input.now, source: 'oauth_code', accessExpiresAt: 1, refreshed: false });
    await repo.writeHistory(key, entries, null, input.now);

    // Act
    const stale = await repo.writeHistory(key, entries, null, input.now).catch((error: unknown) => error);
    const deleted = await repo.deleteTokenSets(input.memberId);

    // Assess
    expect(stale).toBeInstanceOf(TokenConflictError);
    expect(deleted).toBe(1);
    expect(await repo.readHistory(key)).toBeUndefined();
  });

  it('costs one write unit per token-set write and two for the due index, with a realistic token set', async () => {
    // Prepare: a token set as Bitrix24 hands them out (long scope list, real endpoints), leased
    const recorder = new ConsumedCapacityRecorder();
    const client = recorder.client;
    const measured = new DynamoDbTokenRepository({ client, tableName: table.tableName, dueShards: 3 });
    const now = Date.now();
    const input = newChain({
      scope:
        'crm,task,user,department,im,imbot,entity,placement,bizproc,lists,disk,calendar,telephony,log,sonet_group,timeman,landing,catalog,sale',
      clientEndpoint: 'https://a-fairly-long-company-name.bitrix24.com/rest/',
      nextRefreshAt: now - 1000,
      runRefreshes: 1,
    });
    const key = { memberId: input.memberId, userId: 1 };
    await measured.storeNewChain(input, null);
    recorder.reset();

    // Act: one refresh (lease, then the fenced write that moves the due time)
    await measured.acquireLease(key, { owner: `sweep:${crypto.randomUUID()}`, now, leaseMs: 30_000 });
    await measured.completeRefresh(key, {
      owner: 'w',
      usedRefreshToken: input.refreshToken,
      issued: issued({ memberId: input.memberId, scope: 'app' }),
      refreshExpiresAt: now + 30 * DAY,
      nextRefreshAt: now + 45 * 60_000,
      runRefreshes: 2,
      now,
    });
    recorder.destroy();

    // Assess
    expect(recorder.requests).toEqual([
      { command: 'UpdateItem', target: 'TOKEN', table: 1, index: 0 },
      { command: 'UpdateItem', target: 'TOKEN', table: 1, index: 2 },
    ]);
  });

  it('stores a chain without a last refresh when its pair came from no refresh of ours', async () => {
    // Prepare
    const input = newChain({ source: 'oauth_code' });
    await repo.storeNewChain({ ...input, refreshedAt: input.now }, null);
    const existing = await repo.getTokenSet({ memberId: input.memberId, userId: 1 });

    // Act
    await repo.storeNewChain({ ...input, accessToken: token(), refreshToken: token() }, existing?.version ?? 0);
    const replaced = await repo.getTokenSet({ memberId: input.memberId, userId: 1 });

    // Assess
    expect(existing?.lastRefreshAt).toBe(input.now);
    expect(replaced?.lastRefreshAt).toBeUndefined();
  });

  it('drops a history kept on the token set by an older version with the next write of the token set', async () => {
    // Prepare: an item as an earlier version wrote it
    const input = newChain({});
    const key = { memberId: input.memberId, userId: 1 };
    const stored = await repo.storeNewChain(input, null);
    const legacy = withChain(undefined, {
      at: input.now,
      source: 'install_event',
      accessExpiresAt: 1,
      refreshed: true,
    });
    await DynamoDBDocumentClient.from(table.client).send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: { pk: `PORTAL#${input.memberId}`, sk: 'TOKEN#1' },
        UpdateExpression: 'SET #h = :h',
        ExpressionAttributeNames: { '#h': 'history' },
        ExpressionAttributeValues: { ':h': legacy },
      }),
    );
    const before = await repo.getTokenSet(key);

    // Act
    await repo.acquireLease(key, { owner: 'w', now: input.now, leaseMs: 30_000 });
    await repo.completeRefresh(key, {
      owner: 'w',
      usedRefreshToken: stored.refreshToken,
      issued: issued({ memberId: input.memberId }),
      refreshExpiresAt: input.now + 30 * DAY,
      runRefreshes: 1,
      now: input.now,
    });
    const after = await repo.getTokenSet(key);

    // Assess
    expect(before?.history).toEqual(legacy);
    expect(after?.history).toBeUndefined();
  });

  it('finds due token sets through the sharded index without a scan, oldest first, in pages', async () => {
    // Prepare
    const base = Date.now() + 1000 * DAY; // far from other tests' due times
    const inputs = Array.from({ length: 12 }, (_, i) => newChain({ nextRefreshAt: base + i * 1000 }));
    const notDue = newChain({ nextRefreshAt: base + 10 * DAY });
    for (const input of [...inputs, notDue]) await repo.storeNewChain(input, null);

    // Act
    const found: { memberId: string; dueAt: number }[] = [];
    for (let shard = 0; shard < repo.dueShards; shard += 1) {
      let cursor: string | undefined;
      do {
        const page = await repo.queryDue(shard, base + 11_000, { limit: 2, cursor });
        found.push(...page.keys.filter((k) => k.dueAt >= base));
        for (let i = 1; i < page.keys.length; i += 1) {
          expect((page.keys[i]?.dueAt ?? 0) >= (page.keys[i - 1]?.dueAt ?? 0)).toBe(true);
        }
        cursor = page.cursor;
      } while (cursor !== undefined);
    }

    // Assess
    expect(found.map((k) => k.memberId).sort()).toEqual(inputs.map((i) => i.memberId).sort());
  });

  it('saves installations with optimistic concurrency and deletes a portal whole', async () => {
    // Prepare
    const id = memberId();
    const now = Date.now();
    const installation = {
      memberId: id,
      domain: 'alpha.bitrix24.com',
      clientEndpoint: 'https://alpha.bitrix24.com/rest/',
      serverEndpoint: 'https://oauth.bitrix.info/rest/',
      status: 'active' as const,
      applicationTokenHash: 'ab'.repeat(32),
      installedAt: now,
      now,
    };

    // Act
    const created = await repo.saveInstallation(installation, null);
    await expect(repo.saveInstallation(installation, null)).rejects.toBeInstanceOf(TokenConflictError);
    const updated = await repo.saveInstallation({ ...installation, status: 'uninstalled', uninstalledAt: now }, 1);
    await repo.storeNewChain(newChain({ memberId: id, userId: 1 }), null);
    await repo.storeNewChain(newChain({ memberId: id, userId: 7 }), null);
    const listed = await repo.listTokenSets(id);
    const deletedTokens = await repo.deleteTokenSets(id);
    const afterTokens = await repo.getInstallation(id);
    const deletedAll = await repo.deletePortal(id);

    // Assess
    expect(created.version).toBe(1);
    expect(updated.version).toBe(2);
    expect(updated.status).toBe('uninstalled');
    expect(listed.map((t) => t.userId).sort()).toEqual([1, 7]);
    expect(deletedTokens).toBe(2);
    expect(afterTokens?.status).toBe('uninstalled');
    expect(deletedAll).toBe(1);
    expect(await repo.getInstallation(id)).toBeUndefined();
  });

  it('deletes parked recovery pairs with the token sets, keeping the installation', async () => {
    // Prepare
    const input = newChain();
    const stored = await repo.storeNewChain(input, null);
    const recovery = new DynamoDbRecoveryStore({ client: table.client, tableName: table.tableName });
    const key = { memberId: input.memberId, userId: 1 };
    const parked = await recovery.save({
      ...key,
      usedRefreshToken: stored.refreshToken,
      issued: issued({ memberId: input.memberId }),
      refreshExpiresAt: Date.now() + 30 * DAY,
      owner: 'a',
      savedAt: Date.now(),
    });

    // Act
    const deleted = await repo.deleteTokenSets(input.memberId);

    // Assess
    expect(parked).toBe('parked');
    expect(deleted).toBe(1);
    expect(await repo.getTokenSet(key)).toBeUndefined();
    expect(await recovery.get(key, stored.refreshToken)).toBeUndefined();
  });

  it('records a consumer read at most once per throttle window', async () => {
    // Prepare
    const input = newChain();
    await repo.storeNewChain(input, null);
    const key = { memberId: input.memberId, userId: 1 };
    const t0 = Date.now();

    // Act
    await repo.touch(key, t0, 60_000);
    await repo.touch(key, t0 + 1000, 60_000);
    const afterSecond = await repo.getTokenSet(key);
    await repo.touch(key, t0 + 61_000, 60_000);

    // Assess
    expect(afterSecond?.lastUsedAt).toBe(t0);
    expect((await repo.getTokenSet(key))?.lastUsedAt).toBe(t0 + 61_000);
  });

  it('refuses a corrupt stored token set with an error naming its key and attribute, not its value', async () => {
    // Prepare: a token set whose status was written by hand to something no version of the service writes
    const input = newChain();
    await repo.storeNewChain(input, null);
    const doc = DynamoDBDocumentClient.from(table.client);
    await doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: { pk: `PORTAL#${input.memberId}`, sk: 'TOKEN#1' },
        UpdateExpression: 'SET #status = :bad',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':bad': input.refreshToken },
      }),
    );

    // Act
    const error = await repo.getTokenSet({ memberId: input.memberId, userId: 1 }).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(StoredItemError);
    expect((error as StoredItemError).message).toBe(
      `stored token set PORTAL#${input.memberId}/TOKEN#1: status has a value the service does not know`,
    );
    expect(JSON.stringify(error)).not.toContain(input.refreshToken);
  });
});
