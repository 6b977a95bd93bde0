import { describe, expect, it } from 'vitest';
import { hashApplicationToken } from '#shared/core/domain/application-token.js';
import { token } from '#test/helpers/builders/fixtures.js';
import { OTHER_APP, OUR_APP, startLifecycleHarness, useLifecycleHarness } from '#test/helpers/harnesses/lifecycle.js';

const h = useLifecycleHarness();
let portalCount = 0;

/** A new portal in the emulator, unknown to the service. */
function newPortal(region: 'west' | 'east' = 'west') {
  portalCount += 1;
  return h.emulator.addPortal({ domain: `events-${portalCount}.bitrix24.${region === 'west' ? 'com' : 'ru'}`, region });
}

/** Bitrix24 installs the app and sends ONAPPINSTALL; then the table stream finishes the parked claim. */
async function install(...args: Parameters<typeof h.emulator.install>) {
  const result = await h.emulator.install(...args);
  await h.settle();
  return result;
}

async function postEvent(body: string, contentType = 'application/x-www-form-urlencoded'): Promise<Response> {
  return fetch(`${h.server.url}/bitrix/events`, { method: 'POST', headers: { 'content-type': contentType }, body });
}

describe('ONAPPINSTALL / ONAPPUPDATE over HTTP (emulator, DynamoDB Local)', () => {
  it('stores the verified new pair, the application token hash and the installing user', async () => {
    // Prepare
    const portal = newPortal('east');

    // Act
    const result = await h.emulator.install(portal);
    const parkedOnReceipt = await h.parked.listForPortal(portal.memberId);
    await h.settle();

    // Assess
    // Answered at once, before anything was spent: the claim is parked first, verified from the stream.
    expect(result.status).toBe(202);
    expect(JSON.parse(result.body)).toEqual({ status: 'accepted' });
    expect(parkedOnReceipt.length).toBeLessThanOrEqual(1);
    expect(await h.parked.listForPortal(portal.memberId)).toEqual([]);
    const installation = await h.tokens.getInstallation(portal.memberId);
    expect(installation).toMatchObject({
      status: 'active',
      domain: portal.domain,
      clientEndpoint: portal.clientEndpoint,
      serverEndpoint: 'https://oauth.bitrix24.tech/rest/',
      applicationTokenHash: hashApplicationToken(result.applicationToken ?? ''),
      installedBy: 1,
      appVersion: '1',
    });
    const set = await h.tokens.getTokenSet({ memberId: portal.memberId, userId: 1 });
    expect(set).toMatchObject({ status: 'active', source: 'install_event', scope: 'crm,user_brief,placement' });
    // The event's pair was spent to prove it; the stored one is the live successor.
    expect(h.emulator.tokenState(result.tokens?.refreshToken ?? '').state).toBe('used');
    expect(h.emulator.tokenState(set?.refreshToken ?? '').state).toBe('live');
    expect(h.emulator.counters.token.byHost['oauth.bitrix24.tech']?.refresh_token?.ok).toBeGreaterThanOrEqual(1);
  });

  it('answers a second delivery of the same event 200 without changing anything', async () => {
    // Prepare
    const portal = newPortal();
    const first = await install(portal);
    const before = await h.snapshot();

    // Act
    const again = await postEvent(first.requestBody);

    // Assess
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ status: 'duplicate' });
    expect(await h.snapshot()).toEqual(before);
  });

  it('takes ONAPPUPDATE as a new verified chain and records the new version and application token', async () => {
    // Prepare
    const portal = newPortal();
    await install(portal);
    const before = await h.tokens.getTokenSet({ memberId: portal.memberId, userId: 1 });

    // Act
    const result = await h.emulator.update(portal, { version: 2, rotateApplicationToken: true });
    await h.settle();

    // Assess
    expect(result.status).toBe(202);
    expect(JSON.parse(result.body)).toEqual({ status: 'accepted' });
    const after = await h.tokens.getTokenSet({ memberId: portal.memberId, userId: 1 });
    expect(after?.version).toBe((before?.version ?? 0) + 1);
    expect(after?.refreshToken).not.toBe(before?.refreshToken);
    expect(await h.tokens.getInstallation(portal.memberId)).toMatchObject({
      appVersion: '2',
      applicationTokenHash: hashApplicationToken(result.applicationToken ?? ''),
    });
  });

  it('acknowledges events it does not handle with 200 and writes nothing', async () => {
    // Prepare
    const portal = newPortal();
    await h.emulator.install(portal, { sendEvent: false });
    const before = await h.snapshot();

    // Act
    const result = await h.emulator.sendEvent(portal, 'ONCRMDEALADD', { data: { FIELDS: { ID: '7' } } });

    // Assess
    expect(result.status).toBe(200);
    expect(JSON.parse(result.body)).toEqual({ status: 'ignored' });
    expect(await h.snapshot()).toEqual(before);
  });
});

describe('forged installs change nothing', () => {
  // Refusals the authorization server decides are answered 202 (parked, then refused from the stream);
  // the ones that need no spend to decide are refused at once.
  it.each([
    ['tokens minted for another app', 202],
    ['random tokens', 202],
    ["another portal's member_id", 202],
    ['a server_endpoint off the allow-list', 403],
    ['an http server_endpoint', 403],
    ['a missing refresh_token', 400],
    ['a missing application_token', 400],
    ['a missing member_id', 400],
  ] as const)('refuses an install with %s (%i) and leaves the table as it was', async (kind, status) => {
    // Prepare
    const victim = newPortal();
    await h.emulator.install(victim, { sendEvent: false });
    await h.emulator.install(victim, { sendEvent: false, clientId: OTHER_APP.clientId });
    const attacker = newPortal();
    await h.emulator.install(attacker, { sendEvent: false });
    const before = await h.snapshot();
    const refreshesBefore = h.emulator.counters.token.total;
    let auth: Record<string, string | null> = {};
    let portal = victim;
    switch (kind) {
      case 'tokens minted for another app': {
        const other = h.emulator.issueTokens(victim, 1, { clientId: OTHER_APP.clientId });
        auth = { access_token: other.accessToken, refresh_token: other.refreshToken };
        break;
      }
      case 'random tokens':
        auth = { access_token: token(), refresh_token: token() };
        break;
      case "another portal's member_id":
        // Genuine tokens of the attacker's portal, presented as the victim's.
        portal = attacker;
        auth = { member_id: victim.memberId, domain: victim.domain, client_endpoint: victim.clientEndpoint };
        break;
      case 'a server_endpoint off the allow-list':
        auth = { server_endpoint: 'https://oauth.evil.example/rest/' };
        break;
      case 'an http server_endpoint':
        auth = { server_endpoint: 'http://oauth.bitrix.info/rest/' };
        break;
      case 'a missing refresh_token':
        auth = { refresh_token: null };
        break;
      case 'a missing application_token':
        auth = { application_token: null };
        break;
      case 'a missing member_id':
        auth = { member_id: null };
        break;
    }

    // Act
    const result = await h.emulator.sendEvent(portal, 'ONAPPINSTALL', {
      tokens: 'full',
      auth,
      clientId: OUR_APP.clientId,
    });

    await h.settle();

    // Assess
    expect(result.status).toBe(status);
    expect(await h.snapshot()).toEqual(before);
    if (kind.includes('server_endpoint') || status === 400)
      expect(h.emulator.counters.token.total).toBe(refreshesBefore);
    // A refusal is not a loss: nobody is alarmed by forged traffic.
    expect(h.notifications.published.filter((n) => n.memberId === victim.memberId)).toEqual([]);
  });
});

describe('authorization server unavailable', () => {
  it('parks the install (202) while the token endpoint fails, and finishes it once the server is back', async () => {
    // Prepare
    const portal = newPortal();
    h.emulator.faults.set('token', { failNext: 1000, failStatus: 503 });

    // Act
    const result = await install(portal);
    const whileDown = await h.tokens.getInstallation(portal.memberId);
    const parkedWhileDown = await h.parked.listForPortal(portal.memberId);
    h.emulator.faults.clear('token');
    h.emulator.clock.advance(5 * 60_000);
    const summary = await h.processParked();

    // Assess
    expect(result.status).toBe(202);
    expect(JSON.parse(result.body)).toEqual({ status: 'accepted' });
    expect(whileDown).toBeUndefined();
    expect(parkedWhileDown).toHaveLength(1);
    // The emulator's 503 is an HTML page: the client reports it as a malformed (transient) answer.
    expect(parkedWhileDown[0]?.lastError).toMatch(/^(http_503|malformed_response)$/);
    expect(summary.finished).toBeGreaterThanOrEqual(1);
    expect(await h.tokens.getInstallation(portal.memberId)).toMatchObject({
      status: 'active',
      applicationTokenHash: hashApplicationToken(result.applicationToken ?? ''),
    });
    expect((await h.tokens.getTokenSet({ memberId: portal.memberId, userId: 1 }))?.source).toBe('install_event');
    expect(await h.parked.listForPortal(portal.memberId)).toEqual([]);
  });

  it('reports a lost install when the server spent the token but its answer came too late, and the next app open repairs the portal', async () => {
    // Prepare
    const slow = await startLifecycleHarness({ oauthTimeoutMs: 300 });
    const portal = slow.emulator.addPortal({ domain: 'slow.bitrix24.com', region: 'west' });
    slow.emulator.faults.set('token', { hang: true });

    // Act
    const result = await slow.emulator.install(portal);
    await slow.settle();
    const afterTimeout = await slow.parked.listForPortal(portal.memberId);
    // Released, the hung request is processed: the server rotated the token after we gave up on the
    // answer. The parked token is spent; the pair it bought is gone.
    slow.emulator.faults.clear('token');
    for (let i = 0; i < 200 && slow.emulator.tokenState(result.tokens?.refreshToken ?? '').state !== 'used'; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    slow.emulator.clock.advance(2 * 60_000);
    const refused = await slow.processParked();
    const inDoubt = await slow.parked.listForPortal(portal.memberId);
    const notifiedDuringGrace = slow.notifications.events(portal.memberId);
    slow.emulator.clock.advance(10 * 60_000);
    const concluded = await slow.processParked();
    const lost = await slow.tokens.getInstallation(portal.memberId);
    const opened = await slow.emulator.openApp(portal);
    const repaired = await slow.tokens.getInstallation(portal.memberId);
    await slow.stop();

    // Assess
    expect(result.status).toBe(202);
    expect(afterTimeout).toMatchObject([{ attempts: 1, settledAttempts: 0, lastError: 'timeout' }]);
    // The first refusal after a doubtful attempt waits out a grace period: that attempt might still keep its pair.
    expect(refused).toMatchObject({ retried: 1, lost: 0 });
    expect(inDoubt).toMatchObject([{ lastError: 'invalid_grant_in_doubt' }]);
    expect(notifiedDuringGrace).toEqual([]);
    expect(concluded).toMatchObject({ lost: 1, backlog: 0 });
    expect(slow.notifications.published.filter((n) => n.memberId === portal.memberId)).toMatchObject([
      { event: 'install_lost', reason: 'verification_answer_lost', domain: 'slow.bitrix24.com' },
    ]);
    expect(lost).toBeUndefined();
    expect(opened.status).toBe(200);
    expect(repaired?.status).toBe('active');
  });
});

describe('takeover of the application token (an employee holds a real refresh token)', () => {
  /** A portal with its admin (user 1) and an employee (user 2), installed by the admin. */
  async function portalWithEmployee() {
    portalCount += 1;
    const portal = h.emulator.addPortal({
      domain: `takeover-${portalCount}.bitrix24.com`,
      region: 'west',
      users: [{ id: 1, admin: true }, { id: 2 }],
    });
    const installed = await install(portal);
    return { portal, genuine: installed.applicationToken ?? '' };
  }

  it('keeps the stored token when an employee posts an ONAPPUPDATE with their own, tells operators, and refuses the forged uninstall', async () => {
    // Prepare
    const { portal, genuine } = await portalWithEmployee();
    const forged = 'f'.repeat(32);
    const before = await h.tokens.getTokenSet({ memberId: portal.memberId, userId: 1 });

    // Act
    const update = await h.emulator.sendEvent(portal, 'ONAPPUPDATE', {
      tokens: 'full',
      userId: 2,
      auth: { application_token: forged },
    });
    await h.settle();
    const uninstall = await h.emulator.sendEvent(portal, 'ONAPPUNINSTALL', {
      tokens: 'none',
      data: { CLEAN: '1' },
      auth: { application_token: forged },
    });

    // Assess
    expect(update.status).toBe(202);
    expect((await h.tokens.getInstallation(portal.memberId))?.applicationTokenHash).toBe(hashApplicationToken(genuine));
    expect(h.notifications.published.filter((n) => n.memberId === portal.memberId)).toMatchObject([
      { event: 'application_token_refused', userId: 2, reason: 'not_admin' },
    ]);
    expect(uninstall.status).toBe(403);
    expect((await h.tokens.getInstallation(portal.memberId))?.status).toBe('active');
    expect(await h.tokens.getTokenSet({ memberId: portal.memberId, userId: 1 })).toEqual(before);
  });

  it('keeps the stored token when the portal cannot say whether the updater is an admin, and says so', async () => {
    // Prepare
    const { portal, genuine } = await portalWithEmployee();
    h.emulator.blockMethod(portal, 'profile');

    // Act: the admin's genuine update with a new application token
    const update = await h.emulator.update(portal, { version: 2, rotateApplicationToken: true });
    await h.settle();

    // Assess: the update's pair is stored; the token change waits for proof
    expect(update.status).toBe(202);
    const installation = await h.tokens.getInstallation(portal.memberId);
    expect(installation).toMatchObject({ appVersion: '2', applicationTokenHash: hashApplicationToken(genuine) });
    expect(h.notifications.published.filter((n) => n.memberId === portal.memberId)).toMatchObject([
      { event: 'application_token_refused', userId: 1, reason: 'admin_unconfirmed' },
    ]);
  });

  it('never takes the application token from a frame POST, whoever sends it', async () => {
    // Prepare
    const { portal, genuine } = await portalWithEmployee();
    const forged = 'e'.repeat(32);
    const employee = h.emulator.issueTokens(portal, 2);

    // Act: the employee posts the frame's fields with their own tokens and a token of their choosing
    const frame = await fetch(`${h.server.url}/bitrix/install?DOMAIN=${portal.domain}&PROTOCOL=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        AUTH_ID: employee.accessToken,
        AUTH_EXPIRES: '3600',
        REFRESH_ID: employee.refreshToken,
        member_id: portal.memberId,
        SERVER_ENDPOINT: `https://${portal.authServerHost}/rest/`,
        APPLICATION_TOKEN: forged,
        PLACEMENT: 'DEFAULT',
      }).toString(),
    });
    const uninstall = await h.emulator.sendEvent(portal, 'ONAPPUNINSTALL', {
      tokens: 'none',
      auth: { application_token: forged },
    });

    // Assess: the frame works for the employee (their own chain), nothing more
    expect(frame.status).toBe(200);
    expect((await h.tokens.getTokenSet({ memberId: portal.memberId, userId: 2 }))?.source).toBe('install_page');
    expect((await h.tokens.getInstallation(portal.memberId))?.applicationTokenHash).toBe(hashApplicationToken(genuine));
    expect(uninstall.status).toBe(403);
    expect((await h.tokens.getInstallation(portal.memberId))?.status).toBe('active');
  });

  it("sets no application token from an employee's ONAPPINSTALL on a portal installed through the frame", async () => {
    // Prepare: installed on Bitrix24's side, connected through the admin's frame (no application token stored)
    portalCount += 1;
    const portal = h.emulator.addPortal({
      domain: `takeover-${portalCount}.bitrix24.com`,
      region: 'west',
      users: [{ id: 1, admin: true }, { id: 2 }],
    });
    await h.emulator.install(portal, { sendEvent: false });
    await h.emulator.openApp(portal, { userId: 1, includeApplicationToken: false });
    const forged = 'd'.repeat(32);

    // Act
    const claim = await h.emulator.sendEvent(portal, 'ONAPPINSTALL', {
      tokens: 'full',
      userId: 2,
      auth: { application_token: forged },
    });
    await h.settle();

    // Assess
    expect(claim.status).toBe(202);
    expect((await h.tokens.getInstallation(portal.memberId))?.applicationTokenHash).toBeUndefined();
    expect(h.notifications.events(portal.memberId)).toEqual(['application_token_refused']);
  });
});

describe('ONAPPUNINSTALL of a portal connected through the install frame (no application token stored)', () => {
  /** Installed on Bitrix24's side without an event; the admin opened the app, so the frame connected it. */
  async function frameInstalled() {
    portalCount += 1;
    const portal = h.emulator.addPortal({
      domain: `frame-${portalCount}.bitrix24.com`,
      region: 'west',
      users: [{ id: 1, admin: true }, { id: 2 }],
    });
    await h.emulator.install(portal, { sendEvent: false });
    await h.emulator.openApp(portal, { userId: 1, includeApplicationToken: false });
    expect((await h.tokens.getInstallation(portal.memberId))?.applicationTokenHash).toBeUndefined();
    return portal;
  }

  it('honours the genuine event, CLEAN included: the authorization server no longer knows the app there', async () => {
    // Prepare
    const portal = await frameInstalled();

    // Act: Bitrix24 revokes the app's tokens, then sends the event
    const result = await h.emulator.uninstall(portal, { clean: true });

    // Assess
    expect(result.status).toBe(200);
    expect(JSON.parse(result.body)).toEqual({ status: 'uninstalled' });
    const items = await h.snapshot();
    expect(items.filter((item) => String(item.pk).endsWith(portal.memberId))).toEqual([]);
    expect(h.notifications.events(portal.memberId)).not.toContain('invalid_client');
  });

  it('refuses a forged event (403) from an employee: the portal still refreshes, its new pair is stored, nothing is deleted', async () => {
    // Prepare
    const portal = await frameInstalled();
    const before = await h.tokens.getTokenSet({ memberId: portal.memberId, userId: 1 });

    // Act
    const forged = await h.emulator.sendEvent(portal, 'ONAPPUNINSTALL', {
      tokens: 'none',
      data: { CLEAN: '1' },
      auth: { application_token: 'e'.repeat(32) },
    });

    // Assess
    expect(forged.status).toBe(403);
    const after = await h.tokens.getTokenSet({ memberId: portal.memberId, userId: 1 });
    expect(after).toMatchObject({ status: 'active', version: (before?.version ?? 0) + 1 });
    expect(h.emulator.tokenState(after?.refreshToken ?? '')).toMatchObject({ kind: 'refresh', state: 'live' });
    expect(await h.tokens.getInstallation(portal.memberId)).toMatchObject({ status: 'active' });
  });

  it("is not fooled by one user's dead chain: the next user's refresh disproves the forged event", async () => {
    // Prepare: the employee's chain (refreshed last) was revoked; the admin's is alive
    const portal = await frameInstalled();
    h.emulator.clock.advance(60_000);
    await h.emulator.openApp(portal, { userId: 2, includeApplicationToken: false });
    const [employeeChain] = h.emulator.chainState(portal, 2).filter((chain) => chain.refreshFingerprint !== undefined);
    h.emulator.revokeChain(employeeChain?.chainId ?? '');

    // Act
    const forged = await h.emulator.sendEvent(portal, 'ONAPPUNINSTALL', {
      tokens: 'none',
      data: { CLEAN: '1' },
      auth: { application_token: 'c'.repeat(32) },
    });

    // Assess
    expect(forged.status).toBe(403);
    expect(await h.tokens.getInstallation(portal.memberId)).toMatchObject({ status: 'active' });
    expect(await h.tokens.getTokenSet({ memberId: portal.memberId, userId: 1 })).toMatchObject({ status: 'active' });
    expect(await h.tokens.getTokenSet({ memberId: portal.memberId, userId: 2 })).toMatchObject({
      status: 'reauth_required',
    });
  });

  it('marks a portal whose chains are all dead uninstalled, but does not purge on that unproven claim', async () => {
    // Prepare: an admin reset the app's access; every chain is dead
    const portal = await frameInstalled();
    h.emulator.revokeApp(portal);

    // Act
    const claim = await h.emulator.sendEvent(portal, 'ONAPPUNINSTALL', {
      tokens: 'none',
      data: { CLEAN: '1' },
      auth: { application_token: 'f'.repeat(32) },
    });

    // Assess
    expect(claim.status).toBe(200);
    expect(await h.tokens.getInstallation(portal.memberId)).toMatchObject({ status: 'uninstalled' });
    expect(await h.tokens.listTokenSets(portal.memberId)).toEqual([]);
  });

  it('does not take invalid_client for an uninstall when our credentials are not known to work (202 unproven)', async () => {
    // Prepare: nothing has refreshed for two hours, so a rotated-but-wrong secret cannot be ruled out
    const portal = await frameInstalled();
    h.emulator.clock.advance(2 * 60 * 60_000);

    // Act
    const result = await h.emulator.uninstall(portal, { clean: true });

    // Assess: kept, and shown as what the server said; a later refresh elsewhere settles it
    expect(result.status).toBe(202);
    expect(JSON.parse(result.body)).toEqual({ status: 'unproven' });
    expect(await h.tokens.getInstallation(portal.memberId)).toMatchObject({ status: 'active' });
    expect(await h.tokens.getTokenSet({ memberId: portal.memberId, userId: 1 })).toMatchObject({
      status: 'invalid_client',
    });
  });

  it('changes nothing (202 unproven) while the authorization server cannot answer', async () => {
    // Prepare
    const portal = await frameInstalled();
    h.emulator.faults.set('token', { failNext: 1000, failStatus: 503 });

    // Act
    const claim = await h.emulator.sendEvent(portal, 'ONAPPUNINSTALL', {
      tokens: 'none',
      data: { CLEAN: '1' },
      auth: { application_token: 'a'.repeat(32) },
    });
    h.emulator.faults.clear('token');

    // Assess
    expect(claim.status).toBe(202);
    expect(JSON.parse(claim.body)).toEqual({ status: 'unproven' });
    expect(await h.tokens.getInstallation(portal.memberId)).toMatchObject({ status: 'active' });
    expect(await h.tokens.getTokenSet({ memberId: portal.memberId, userId: 1 })).toMatchObject({
      status: 'active',
      leaseOwner: undefined,
    });
  });
});

describe('ONAPPUNINSTALL over HTTP', () => {
  it('changes nothing for a wrong application token (403), then uninstalls and deletes tokens for the right one', async () => {
    // Prepare
    const portal = newPortal();
    await install(portal);
    await h.emulator.openApp(portal, { userId: 1 });
    const before = await h.snapshot();

    // Act
    const forged = await h.emulator.sendEvent(portal, 'ONAPPUNINSTALL', {
      tokens: 'none',
      data: { CLEAN: '1' },
      auth: { application_token: token().slice(0, 32) },
    });
    const afterForged = await h.snapshot();
    const real = await h.emulator.uninstall(portal, { clean: false });

    // Assess
    expect(forged.status).toBe(403);
    expect(afterForged).toEqual(before);
    expect(real.status).toBe(200);
    expect(JSON.parse(real.body)).toEqual({ status: 'uninstalled' });
    expect(await h.tokens.getInstallation(portal.memberId)).toMatchObject({ status: 'uninstalled' });
    expect(await h.tokens.listTokenSets(portal.memberId)).toEqual([]);
  });

  it('with CLEAN purges every item of the portal; a repeat of it is answered 200', async () => {
    // Prepare
    const portal = newPortal();
    await install(portal);

    // Act
    const result = await h.emulator.uninstall(portal, { clean: true });
    const repeat = await postEvent(result.requestBody);

    // Assess
    expect(result.status).toBe(200);
    expect(repeat.status).toBe(200);
    expect(await repeat.json()).toEqual({ status: 'unknown_portal' });
    const items = await h.snapshot();
    expect(items.filter((item) => String(item.pk).endsWith(portal.memberId))).toEqual([]);
  });

  it('answers an uninstall of a portal it never saw with 200 and writes nothing', async () => {
    // Prepare
    const portal = newPortal();
    await h.emulator.install(portal, { sendEvent: false });
    const before = await h.snapshot();

    // Act
    const result = await h.emulator.uninstall(portal);

    // Assess
    expect(result.status).toBe(200);
    expect(await h.snapshot()).toEqual(before);
  });

  it('revives the portal on a reinstall after an uninstall', async () => {
    // Prepare
    const portal = newPortal();
    await install(portal);
    await h.emulator.uninstall(portal, { clean: false });

    // Act
    const reinstall = await install(portal);

    // Assess
    expect(reinstall.status).toBe(202);
    const installation = await h.tokens.getInstallation(portal.memberId);
    expect(installation).toMatchObject({
      status: 'active',
      applicationTokenHash: hashApplicationToken(reinstall.applicationToken ?? ''),
    });
    expect(installation?.uninstalledAt).toBeUndefined();
    expect((await h.tokens.getTokenSet({ memberId: portal.memberId, userId: 1 }))?.status).toBe('active');
  });
});
