import { describe, expect, it } from 'vitest';
import { token } from '#test/helpers/builders/fixtures.js';
import { useLifecycleHarness } from '#test/helpers/harnesses/lifecycle.js';

const h = useLifecycleHarness();
let portalCount = 0;

/** A portal with the app installed on Bitrix24's side but unknown to the service (no event delivered). */
async function installedPortal(region: 'west' | 'east' = 'west') {
  portalCount += 1;
  const portal = h.emulator.addPortal({
    domain: `frame-${portalCount}.bitrix24.${region === 'west' ? 'com' : 'ru'}`,
    region,
  });
  await h.emulator.install(portal, { sendEvent: false, installFinished: false });
  return portal;
}

describe('install page over HTTP (emulator frame POST, DynamoDB Local)', () => {
  it('verifies the frame tokens, stores them as an install_page chain and finishes the installation', async () => {
    // Prepare
    const portal = await installedPortal();

    // Act
    const result = await h.emulator.openApp(portal);

    // Assess
    expect(result.status).toBe(200);
    expect(result.headers['content-type']).toContain('text/html');
    expect(result.body).toContain('<script src="//api.bitrix24.com/api/v1/"></script>');
    expect(result.body).toContain('BX24.init(function () { BX24.installFinish(); });');
    const installation = await h.tokens.getInstallation(portal.memberId);
    expect(installation).toMatchObject({ status: 'active', domain: portal.domain, scope: 'crm,user_brief,placement' });
    // A frame POST is a user's, whoever that is: it never sets the application token (docs/LIFECYCLE.md).
    expect(installation?.applicationTokenHash).toBeUndefined();
    const set = await h.tokens.getTokenSet({ memberId: portal.memberId, userId: 1 });
    expect(set?.source).toBe('install_page');
    expect(h.emulator.tokenState(result.tokens.refreshToken).state).toBe('used');
    expect(h.emulator.tokenState(set?.refreshToken ?? '').state).toBe('live');
  });

  it('lets only the portal frame the page, at the origin the browser reaches it on: no X-Frame-Options', async () => {
    // Prepare
    const portal = await installedPortal();

    // Act
    const result = await h.emulator.openApp(portal);

    // Assess
    expect(result.headers['x-frame-options']).toBeUndefined();
    // BITRIX_URL_REWRITES sends the portal to the emulator: that is the origin the browser frames from.
    expect(result.headers['content-security-policy']).toContain(`frame-ancestors ${h.emulator.baseUrl};`);
    expect(result.headers['content-security-policy']).not.toContain("frame-ancestors 'none'");
    expect(result.headers['content-security-policy']).not.toContain(portal.domain);
  });

  it('still verifies without SERVER_ENDPOINT and APPLICATION_TOKEN (older frames), using the default server', async () => {
    // Prepare
    const portal = await installedPortal('east');
    const westBefore = h.emulator.counters.token.byHost['oauth.bitrix.info']?.refresh_token?.ok ?? 0;

    // Act
    const result = await h.emulator.openApp(portal, {
      includeServerEndpoint: false,
      includeApplicationToken: false,
      includeScope: false,
    });

    // Assess
    expect(result.status).toBe(200);
    expect(result.body).toContain('BX24.installFinish()');
    expect(h.emulator.counters.token.byHost['oauth.bitrix.info']?.refresh_token?.ok).toBe(westBefore + 1);
    const installation = await h.tokens.getInstallation(portal.memberId);
    expect(installation?.status).toBe('active');
    expect(installation?.applicationTokenHash).toBeUndefined();
    // The answer names the portal's own regional server: that is what the sweep will use.
    expect(installation?.serverEndpoint).toBe('https://oauth.bitrix24.tech/rest/');
    expect(JSON.stringify(await h.snapshot())).not.toContain(
      new URL(result.url).searchParams.get('APP_SID') ?? 'missing',
    );
  });

  it('shows later opens a connected page without an unconditional installFinish', async () => {
    // Prepare
    const portal = await installedPortal();
    await h.emulator.openApp(portal);
    h.emulator.finishInstall(portal);

    // Act
    const main = await h.emulator.openApp(portal);
    const widget = await h.emulator.openApp(portal, { placement: 'CRM_DEAL_DETAIL_TAB' });

    // Assess
    expect(main.status).toBe(200);
    expect(main.body).toContain('Connected');
    expect(main.body).not.toContain('BX24.init(function () { BX24.installFinish(); });');
    expect(main.body).toContain('info.INSTALLED === false');
    expect(widget.body).toContain('Connected');
    expect(widget.body).not.toContain('installFinish');
  });

  it('repairs a portal whose chain died (reauth_required) with the tokens of the next app open', async () => {
    // Prepare
    const portal = await installedPortal();
    await h.emulator.openApp(portal);
    const key = { memberId: portal.memberId, userId: 1 };
    const dead = await h.tokens.getTokenSet(key);
    await h.tokens.recordFailure(key, {
      usedRefreshToken: dead?.refreshToken ?? '',
      failure: { category: 'invalid_grant', code: 'invalid_grant', message: 'chain dead', at: h.emulator.clock.now() },
      status: 'reauth_required',
      consecutiveFailures: 1,
      now: h.emulator.clock.now(),
    });
    h.emulator.finishInstall(portal);

    // Act
    const result = await h.emulator.openApp(portal);

    // Assess
    expect(result.status).toBe(200);
    const repaired = await h.tokens.getTokenSet(key);
    expect(repaired?.status).toBe('active');
    expect(repaired?.refreshToken).not.toBe(dead?.refreshToken);
    expect(repaired?.version).toBe((dead?.version ?? 0) + 2);
    expect(h.emulator.tokenState(repaired?.refreshToken ?? '').state).toBe('live');
  });

  it('answers a reload of the same frame POST with the page again, changing nothing', async () => {
    // Prepare
    const portal = await installedPortal();
    const first = await h.emulator.openApp(portal);
    const before = await h.snapshot();

    // Act
    const reload = await fetch(first.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: first.requestBody,
    });

    // Assess
    expect(reload.status).toBe(200);
    expect(await reload.text()).toContain('Connected');
    expect(await h.snapshot()).toEqual(before);
  });

  it('refuses a frame whose tokens the authorization server does not confirm (403), storing nothing', async () => {
    // Prepare
    const portal = await installedPortal();
    const before = await h.snapshot();
    const url = `${h.server.url}/bitrix/install?DOMAIN=${portal.domain}&PROTOCOL=1&LANG=en&APP_SID=abc`;
    const body = new URLSearchParams({
      AUTH_ID: token(),
      AUTH_EXPIRES: '3600',
      REFRESH_ID: token(),
      member_id: portal.memberId,
      status: 'L',
      PLACEMENT: 'DEFAULT',
      APPLICATION_TOKEN: token().slice(0, 32),
    }).toString();

    // Act
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });

    // Assess
    expect(response.status).toBe(403);
    // The portal named by the query, at the origin the browser reaches it on (the emulator).
    expect(response.headers.get('content-security-policy')).toContain(`frame-ancestors ${h.emulator.baseUrl};`);
    expect(await response.text()).not.toContain('installFinish');
    expect(await h.snapshot()).toEqual(before);
  });

  it('shows a friendly page to a GET outside Bitrix24', async () => {
    // Act
    const response = await fetch(`${h.server.url}/bitrix/install`);
    const html = await response.text();

    // Assess
    expect(response.status).toBe(200);
    expect(html).toContain('Open this app from Bitrix24');
    expect(html).not.toContain('installFinish');
  });

  it('parks frame tokens while the authorization server is down and shows a 202 page', async () => {
    // Prepare
    const portal = await installedPortal();
    h.emulator.faults.set('token', { failNext: 1000, failStatus: 502 });

    // Act
    const result = await h.emulator.openApp(portal);
    h.emulator.faults.clear('token');
    h.emulator.clock.advance(5 * 60_000);
    await h.processParked();
    // The table stream may have taken the claim first: let it finish.
    await h.settle();

    // Assess
    expect(result.status).toBe(202);
    expect(result.body).not.toContain('installFinish');
    expect((await h.tokens.getTokenSet({ memberId: portal.memberId, userId: 1 }))?.source).toBe('install_page');
  });
});
