import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hashApplicationToken } from '#shared/core/domain/application-token.js';
import { refreshTokenSet } from '#shared/core/use-cases/refresh-token-set.js';
import { type FaultyDynamoDb, startFaultyDynamoDb } from '#test/helpers/harnesses/faulty-dynamodb.js';
import { type LifecycleHarness, OUR_APP, startLifecycleHarness } from '#test/helpers/harnesses/lifecycle.js';

/**
 * Install claims under DynamoDB faults injected on the wire (a proxy between the functions' SDK client
 * and DynamoDB Local), judged by the emulator: the claim's refresh token is spent exactly once, and its
 * pair ends stored, kept in the parked claim for the next attempt, or reported lost — never silently
 * dropped. The harness's own repositories read DynamoDB Local directly.
 */

let faults: FaultyDynamoDb;
let h: LifecycleHarness;
let portals = 0;

beforeAll(async () => {
  faults = await startFaultyDynamoDb();
  h = await startLifecycleHarness({ faults });
});
afterAll(async () => {
  await h.stop();
  await faults.stop();
});
beforeEach(() => {
  faults.proxy.clear();
  faults.proxy.resetCounts();
});

function newPortal() {
  portals += 1;
  return h.emulator.addPortal({ domain: `durable-${portals}.bitrix24.com`, region: 'west' });
}

/** Writes of a token set (the new chain), whatever the operation. */
const tokenSetWrites = { operations: ['PutItem', 'UpdateItem'], keyPrefixes: ['TOKEN#'] } as const;

/** The write that keeps a verified pair in its parked claim. */
const pairKept = (r: { operation: string; body: Readonly<Record<string, unknown>> }) =>
  r.operation === 'UpdateItem' && String(r.body.UpdateExpression).includes('#pair');

describe('install claims under DynamoDB faults', () => {
  it('keeps the verified pair in the parked claim when every token-set write fails, and stores it later without spending again', async () => {
    // Prepare
    const portal = newPortal();
    faults.proxy.addRule({ ...tokenSetWrites, fault: { kind: 'error' } });

    // Act
    const delivered = await h.emulator.install(portal);
    await h.settle();
    const whileFailing = await h.parked.listForPortal(portal.memberId);
    const spendsWhileFailing = h.emulator.counters.token.total;
    faults.proxy.clear();
    h.emulator.clock.advance(2 * 60_000);
    const summary = await h.processParked();
    const stored = await h.tokens.getTokenSet({ memberId: portal.memberId, userId: 1 });

    // Assess
    expect(delivered.status).toBe(202);
    expect(h.emulator.tokenState(delivered.tokens?.refreshToken ?? '').state).toBe('used');
    expect(whileFailing).toHaveLength(1);
    const held = whileFailing[0]?.pair?.issued.refreshToken ?? '';
    expect(h.emulator.tokenState(held).state).toBe('live');
    expect(summary).toMatchObject({ finished: 1, lost: 0 });
    expect(stored?.refreshToken).toBe(held);
    expect(h.emulator.counters.token.total).toBe(spendsWhileFailing);
    expect(await h.parked.listForPortal(portal.memberId)).toEqual([]);
    expect(h.notifications.events(portal.memberId)).toEqual([]);
  });

  it('reports a lost install when the verified pair can be neither stored nor kept', async () => {
    // Prepare
    const portal = newPortal();
    faults.proxy.addRule({ ...tokenSetWrites, fault: { kind: 'error' } });
    faults.proxy.addRule({ when: pairKept, fault: { kind: 'error' } });

    // Act
    const delivered = await h.emulator.install(portal);
    await h.settle();

    // Assess
    expect(delivered.status).toBe(202);
    expect(h.notifications.published.filter((n) => n.memberId === portal.memberId)).toMatchObject([
      { event: 'install_lost', reason: 'install_pair_unsaved', domain: portal.domain, from: 'none', to: 'none' },
    ]);
    expect(h.metrics.get('InstallLost{reason=install_pair_unsaved}')).toBeGreaterThanOrEqual(1);
    expect(await h.tokens.getTokenSet({ memberId: portal.memberId, userId: 1 })).toBeUndefined();
    expect(await h.parked.listForPortal(portal.memberId)).toEqual([]);
  });

  it('recognises a token-set write that landed while its answer was lost: stored once, nothing reported', async () => {
    // Prepare
    const portal = newPortal();
    faults.proxy.addRule({ ...tokenSetWrites, fault: { kind: 'lost' }, times: 1 });

    // Act
    const delivered = await h.emulator.install(portal);
    await h.settle();
    const stored = await h.tokens.getTokenSet({ memberId: portal.memberId, userId: 1 });

    // Assess
    expect(delivered.status).toBe(202);
    expect(faults.proxy.counts.faults).toEqual({ 'UpdateItem:lost': 1 });
    expect(h.emulator.tokenState(stored?.refreshToken ?? '').state).toBe('live');
    expect(await h.parked.listForPortal(portal.memberId)).toEqual([]);
    expect(h.notifications.events(portal.memberId)).toEqual([]);
  });

  it('parks the claim through a burst of throttling that outlasts the SDK retries, and finishes it', async () => {
    // Prepare
    const portal = newPortal();
    faults.proxy.addRule({ operations: ['PutItem'], keyPrefixes: ['PARKED#'], fault: { kind: 'throttle' }, times: 4 });

    // Act
    const delivered = await h.emulator.install(portal);
    await h.settle();

    // Assess
    expect(faults.proxy.counts.faults['PutItem:throttle']).toBe(4);
    expect(delivered.status).toBe(202);
    expect((await h.tokens.getInstallation(portal.memberId))?.status).toBe('active');
    expect(h.notifications.events(portal.memberId)).toEqual([]);
  });

  it('answers 503 and spends nothing when the claim cannot be parked', async () => {
    // Prepare
    const portal = newPortal();
    faults.proxy.addRule({ operations: ['PutItem'], keyPrefixes: ['PARKED#'], fault: { kind: 'throttle' } });
    const spendsBefore = h.emulator.counters.token.total;

    // Act
    const delivered = await h.emulator.install(portal);
    await h.settle();

    // Assess
    expect(delivered.status).toBe(503);
    expect(JSON.parse(delivered.body)).toMatchObject({ error: 'unavailable' });
    expect(JSON.parse(delivered.body).message).toMatch(/could not be saved; nothing was used/);
    expect(h.emulator.counters.token.total).toBe(spendsBefore);
    expect(h.emulator.tokenState(delivered.tokens?.refreshToken ?? '').state).toBe('live');
    expect(h.metrics.get('InstallClaimUnsaved')).toBeGreaterThanOrEqual(1);
    expect(await h.parked.listForPortal(portal.memberId)).toEqual([]);
    // Bitrix24 does not deliver the event again: operators are told the install did not arrive.
    expect(h.notifications.published.filter((n) => n.memberId === portal.memberId)).toMatchObject([
      { event: 'install_lost', reason: 'claim_unsaved', domain: portal.domain, from: 'none', to: 'none' },
    ]);
  });

  it("takes an admin's new application token even when its pair is stored after the pair's access token expired", async () => {
    // Prepare: installed; the admin's update is verified, but its pair cannot be stored for two hours
    const portal = newPortal();
    await h.emulator.install(portal);
    await h.settle();
    faults.proxy.addRule({
      operations: ['PutItem', 'UpdateItem'],
      keyPrefixes: ['TOKEN#', 'INSTALLATION'],
      fault: { kind: 'error' },
    });
    const update = await h.emulator.update(portal, { version: 2, rotateApplicationToken: true });
    await h.settle();
    faults.proxy.clear();
    h.emulator.clock.advance(2 * 60 * 60_000);
    // Meanwhile the sweep kept the admin's chain fresh
    await refreshTokenSet({ memberId: portal.memberId, userId: 1 }, { reason: 'on_demand' }, h.deps.refresh);

    // Act
    const summary = await h.processParked();

    // Assess: the portal was asked with the admin's fresh access token, not the expired one
    expect(summary).toMatchObject({ finished: 1, lost: 0 });
    expect((await h.tokens.getInstallation(portal.memberId))?.applicationTokenHash).toBe(
      hashApplicationToken(update.applicationToken ?? ''),
    );
    expect(h.notifications.events(portal.memberId)).not.toContain('application_token_refused');
  });

  it('keeps a claim while the authorization server refuses our credentials, and finishes it once they work', async () => {
    // Prepare
    const portal = newPortal();
    h.emulator.updateApp({ clientSecret: 'RotatedSecret0123456789abcdefghijklmnopqrstuvwx' }, OUR_APP.clientId);

    // Act
    const delivered = await h.emulator.install(portal);
    await h.settle();
    const waiting = await h.parked.listForPortal(portal.memberId);
    h.emulator.updateApp({ clientSecret: OUR_APP.clientSecret }, OUR_APP.clientId);
    h.emulator.clock.advance(2 * 60_000);
    const summary = await h.processParked();

    // Assess
    expect(delivered.status).toBe(202);
    // Refused with invalid_client, which spends nothing: the attempt is settled, not in doubt.
    expect(waiting).toMatchObject([{ attempts: 1, settledAttempts: 1, lastError: 'invalid_client' }]);
    expect(summary).toMatchObject({ finished: 1, lost: 0 });
    expect((await h.tokens.getInstallation(portal.memberId))?.status).toBe('active');
    expect(h.notifications.events(portal.memberId)).toEqual([]);
  });
});
