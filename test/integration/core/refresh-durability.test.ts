import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TokenRefreshError } from '#shared/core/domain/errors.js';
import { type RefreshInput, refreshTokenSet } from '#shared/core/use-cases/refresh-token-set.js';
import {
  type FaultyDynamoDb,
  isLeaseWrite,
  isRefreshedPairWrite,
  startFaultyDynamoDb,
} from '#test/helpers/harnesses/faulty-dynamodb.js';
import { type RefreshHarness, startRefreshHarness } from '#test/helpers/harnesses/refresh.js';
import { readWholeTable } from '#test/helpers/harnesses/table.js';

/**
 * The refresh path against DynamoDB faults injected on the wire (a proxy in front of DynamoDB Local):
 * errors, throttling, hangs, resets, and writes that land while their answer is lost. Whatever
 * happens, a spent refresh token ends stored, parked or reported — never silently lost, never a
 * `reauth_required` guessed from a failed read, never a false alarm.
 */

let db: FaultyDynamoDb;
let h: RefreshHarness;

beforeEach(async () => {
  db = await startFaultyDynamoDb({ seed: 3 });
  h = await startRefreshHarness({ timeoutMs: 1000, faults: db });
});
afterEach(async () => {
  await h.stop();
  await db.stop();
});

const SWEEP: RefreshInput = { reason: 'sweep' };

/** The UpdateItem that records a failed refresh (`recordFailure`). */
const isFailureWrite = (r: { operation: string; body: Readonly<Record<string, unknown>> }): boolean =>
  r.operation === 'UpdateItem' && String(r.body.UpdateExpression).includes('#lastFailure = :lastFailure');

/** Moves the emulator clock to the token set's due time. */
async function advanceToDue(key: { memberId: string; userId: number }): Promise<void> {
  const due = (await h.get(key)).nextRefreshAt;
  if (due === undefined) throw new Error('not in the due index');
  const delta = due - h.emulator.clock.now();
  if (delta > 0) h.emulator.clock.advance(delta);
}

describe('refresh path under DynamoDB faults', () => {
  it('recognises its own lease when the lease write landed but its answer was lost, and reports no interruption', async () => {
    // Prepare: the lease write lands, its answer is lost; the SDK's retry then meets our own lease
    const { key } = await h.seedPortal();
    await advanceToDue(key);
    db.proxy.addRule({ when: isLeaseWrite, fault: { kind: 'lost' }, times: 1 });

    // Act
    const outcome = await refreshTokenSet(key, SWEEP, h.deps);
    h.emulator.clock.advance(h.settings.leaseMs + 1000);
    await advanceToDue(key);
    await refreshTokenSet(key, SWEEP, h.deps);

    // Assess
    expect(outcome.kind).toBe('refreshed');
    const stored = await h.get(key);
    expect(stored.leaseOwner).toBeUndefined();
    expect(h.emulator.tokenState(stored.refreshToken).state).toBe('live');
    expect(h.notifications.events(key.memberId)).not.toContain('refresh_interrupted');
  });

  it('recognises its own landed write by a re-read: no lost_write and no parked pair when the answer was lost and the re-reads failed for a while', async () => {
    // Prepare: the pair's write lands without an answer; the next writes and reads fail
    const { key } = await h.seedPortal();
    await advanceToDue(key);
    db.proxy.addRule({ when: isRefreshedPairWrite, fault: { kind: 'lost' }, times: 1 });
    db.proxy.addRule({ when: isRefreshedPairWrite, fault: { kind: 'error' }, times: 40 });
    db.proxy.addRule({ operations: ['GetItem'], keyPrefixes: ['TOKEN#'], fault: { kind: 'error' }, times: 12 });

    // Act
    await refreshTokenSet(key, SWEEP, h.deps).catch((error: unknown) => error);
    db.proxy.clear();
    h.emulator.clock.advance(10 * 60_000);
    await refreshTokenSet(key, { reason: 'on_demand' }, h.deps).catch((error: unknown) => error);

    // Assess: the chain is alive and stored; nobody was told a pair was lost
    const stored = await h.get(key);
    expect(h.emulator.tokenState(stored.refreshToken).state).toBe('live');
    expect(h.notifications.events(key.memberId)).not.toContain('lost_write');
    expect(await h.recovery.get(key, stored.refreshToken)).toBeUndefined();
  });

  it('never concludes reauth_required from a failed read of the recovery store, and applies the parked pair later', async () => {
    // Prepare: a refreshed pair is parked (every write of it failed); the stored token is spent
    const { key } = await h.seedPortal();
    await advanceToDue(key);
    db.proxy.addRule({ when: isRefreshedPairWrite, fault: { kind: 'error' } });
    await refreshTokenSet(key, SWEEP, h.deps).catch(() => undefined);
    db.proxy.clear();
    const spent = await h.get(key);
    expect(await h.recovery.get(key, spent.refreshToken)).toBeDefined();

    // Act: the next attempt meets invalid_grant and cannot read the recovery store
    db.proxy.addRule({ operations: ['GetItem'], keyPrefixes: ['RECOVERY#'], fault: { kind: 'error' } });
    const failed = await refreshTokenSet(key, SWEEP, h.deps).catch((error: unknown) => error);
    const afterFailedRead = await h.get(key);
    db.proxy.clear();
    h.emulator.clock.advance(
      afterFailedRead.nextRefreshAt === undefined ? 0 : afterFailedRead.nextRefreshAt - h.emulator.clock.now(),
    );
    const healed = await refreshTokenSet(key, SWEEP, h.deps);

    // Assess
    expect(failed).toBeInstanceOf(TokenRefreshError);
    expect(afterFailedRead.status).not.toBe('reauth_required');
    expect(afterFailedRead.nextRefreshAt).toBeDefined();
    expect(healed.kind).toBe('recovered');
    expect(h.emulator.tokenState((await h.get(key)).refreshToken).state).toBe('live');
    expect(h.notifications.events(key.memberId)).not.toContain('reauth_required');
  });

  it('releases the lease when applying a parked pair fails with an error, so the next worker reports no interruption', async () => {
    // Prepare: a parked pair for the stored (spent) token
    const { key } = await h.seedPortal();
    await advanceToDue(key);
    db.proxy.addRule({ when: isRefreshedPairWrite, fault: { kind: 'error' } });
    await refreshTokenSet(key, SWEEP, h.deps).catch(() => undefined);
    const parkEvents = h.notifications.events(key.memberId).length;

    // Act: applying it fails (the write still fails), then the outage ends
    await refreshTokenSet(key, SWEEP, h.deps).catch(() => undefined);
    const afterFailure = await h.get(key);
    db.proxy.clear();
    h.emulator.clock.advance(h.settings.leaseMs + 1000);
    const next = await refreshTokenSet(key, SWEEP, h.deps);

    // Assess
    expect(afterFailure.leaseOwner).toBeUndefined();
    expect(next.kind).toBe('recovered');
    expect(h.notifications.events(key.memberId).slice(parkEvents)).not.toContain('refresh_interrupted');
  });

  it('never lets an older parked pair replace a newer one', async () => {
    // Prepare: the newer pair, parked for the token the token set holds now
    const { key, stored } = await h.seedPortal();
    const park = (usedRefreshToken: string, refreshToken: string) =>
      h.recovery.save({
        ...key,
        usedRefreshToken,
        issued: { ...stored, refreshToken },
        refreshExpiresAt: stored.refreshExpiresAt,
        owner: 'test',
        savedAt: h.emulator.clock.now(),
      });
    const newer = await park(stored.refreshToken, 'newer-pair-refresh');

    // Act: a slow worker's older pair (for a token spent before) arrives last, and a repeat of the newer
    const older = await park('spent-before', 'older-pair-refresh');
    const repeat = await park(stored.refreshToken, 'another-pair-refresh');

    // Assess
    expect([newer, older, repeat]).toEqual(['parked', 'not_needed', 'already_parked']);
    expect((await h.recovery.get(key, stored.refreshToken))?.issued.refreshToken).toBe('newer-pair-refresh');
    expect(await h.recovery.get(key, 'spent-before')).toBeUndefined();
  });

  it('parks nothing once the portal was uninstalled: a token never outlives the uninstall', async () => {
    // Prepare: writes of the pair fail; the portal is uninstalled between the spend and the park
    const { key } = await h.seedPortal();
    await advanceToDue(key);
    db.proxy.addRule({ when: isRefreshedPairWrite, fault: { kind: 'error' } });
    const oauth = h.deps.oauth;
    const deps = {
      ...h.deps,
      oauth: {
        refresh: async (input: { serverEndpoint: string; refreshToken: string }) => {
          const issued = await oauth.refresh(input);
          await h.repository.deleteTokenSets(key.memberId);
          return issued;
        },
      },
    };

    // Act
    await refreshTokenSet(key, SWEEP, deps).catch(() => undefined);

    // Assess
    const items = await readWholeTable(h.table.client, h.table.tableName);
    expect(items.filter((item) => String(item.pk) === `PORTAL#${key.memberId}`)).toEqual([]);
  });

  it('revives a reauth_required token set with the pair parked for its stored token', async () => {
    // Prepare: a pair parked for the stored token, and the token set marked reauth_required meanwhile
    const { key } = await h.seedPortal();
    await advanceToDue(key);
    db.proxy.addRule({ when: isRefreshedPairWrite, fault: { kind: 'error' } });
    await refreshTokenSet(key, SWEEP, h.deps).catch(() => undefined);
    db.proxy.clear();
    const spent = await h.get(key);
    await h.repository.recordFailure(key, {
      usedRefreshToken: spent.refreshToken,
      failure: { category: 'invalid_grant', code: 'invalid_grant', message: 'late park', at: h.emulator.clock.now() },
      status: 'reauth_required',
      consecutiveFailures: 1,
      now: h.emulator.clock.now(),
    });

    // Act: a consumer asks for a token
    const outcome = await refreshTokenSet(key, { reason: 'on_demand' }, h.deps);

    // Assess
    expect(outcome.kind).toBe('recovered');
    expect(outcome.tokenSet.status).toBe('active');
    expect(h.emulator.tokenState(outcome.tokenSet.refreshToken).state).toBe('live');
  });

  it('reports reauth_required when the write that marks the chain dead landed but its answer was lost', async () => {
    // Prepare: the chain is dead at the server; the failure's write lands without an answer, its retries fail
    const { key } = await h.seedPortal();
    await advanceToDue(key);
    h.emulator.revokeApp(key.memberId);
    db.proxy.addRule({ when: isFailureWrite, fault: { kind: 'lost' }, times: 1 });
    db.proxy.addRule({ when: isFailureWrite, fault: { kind: 'error' }, times: 40 });

    // Act
    const error = await refreshTokenSet(key, SWEEP, h.deps).catch((e: unknown) => e);
    db.proxy.clear();

    // Assess: the status changed, and operators were told so, once
    expect(error).toBeInstanceOf(TokenRefreshError);
    expect((await h.get(key)).status).toBe('reauth_required');
    expect(h.notifications.events(key.memberId)).toEqual(['reauth_required']);
  });

  it('reports reauth_required when the write that marks the chain dead failed and no read can tell whether it landed', async () => {
    // Prepare: the failure's write lands without an answer; its retries and every read after it fail
    const { key } = await h.seedPortal();
    await advanceToDue(key);
    h.emulator.revokeApp(key.memberId);
    let failureWritten = false;
    db.proxy.addRule({
      when: (r) => {
        failureWritten ||= isFailureWrite(r);
        return isFailureWrite(r);
      },
      fault: { kind: 'lost' },
      times: 1,
    });
    db.proxy.addRule({ when: isFailureWrite, fault: { kind: 'error' }, times: 40 });
    db.proxy.addRule({
      when: (r) => failureWritten && r.operation === 'GetItem' && String(r.sk).startsWith('TOKEN#'),
      fault: { kind: 'error' },
    });

    // Act
    const error = await refreshTokenSet(key, SWEEP, h.deps).catch((e: unknown) => e);
    db.proxy.clear();

    // Assess
    expect(error).toBeInstanceOf(TokenRefreshError);
    expect((await h.get(key)).status).toBe('reauth_required');
    expect(h.notifications.events(key.memberId)).toEqual(['reauth_required']);
  });

  it('tries again, and says nothing yet, when the write that marks the chain dead did not land', async () => {
    // Prepare: the chain is dead at the server; every write of the failure fails before reaching the table
    const { key } = await h.seedPortal();
    await advanceToDue(key);
    h.emulator.revokeApp(key.memberId);
    db.proxy.addRule({ when: isFailureWrite, fault: { kind: 'error' }, times: 3 });

    // Act
    const first = await refreshTokenSet(key, SWEEP, h.deps).catch((e: unknown) => e);
    const afterFirst = await h.get(key);
    const second = await refreshTokenSet(key, SWEEP, h.deps).catch((e: unknown) => e);

    // Assess
    expect(first).toBeInstanceOf(Error);
    expect(afterFirst.status).toBe('active');
    expect(afterFirst.leaseOwner).toBeUndefined();
    expect(second).toBeInstanceOf(TokenRefreshError);
    expect((await h.get(key)).status).toBe('reauth_required');
    expect(h.notifications.events(key.memberId)).toEqual(['reauth_required']);
  });

  it('ends a hung DynamoDB call within its request timeout: the refresh fails transiently and the chain stays', async () => {
    // Prepare: every read of the token set hangs
    const { key, stored } = await h.seedPortal();
    await advanceToDue(key);
    db.proxy.addRule({ operations: ['GetItem'], keyPrefixes: ['TOKEN#'], fault: { kind: 'hang' } });

    // Act
    const error = await refreshTokenSet(key, SWEEP, h.deps).catch((e: unknown) => e);
    db.proxy.clear();

    // Assess: the call gave up (the test's own timeout would catch a hang); nothing was spent
    expect(error).toBeInstanceOf(Error);
    expect(h.emulator.tokenState(stored.refreshToken).state).toBe('live');
  });
});
