import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type BitrixEmulator, type EmulatorPortal, type Region, startBitrixEmulator } from '#local/emulator/index.js';
import { at, type ReceivedRequest, type Receiver, restRequest, startReceiver, tokenRequest } from './helpers.js';

const APP = {
  clientId: 'local.8a1b2c3d4e5f60.55555555',
  clientSecret: 'EventSecretEventSecretEventSecretEventSecret05',
};
const START = Date.UTC(2026, 4, 1, 8, 30, 0);

let emulator: BitrixEmulator;
let handler: Receiver;
let installPage: Receiver;
let portalCounter = 0;

function newPortal(region: Region = 'west', installed = false): EmulatorPortal {
  portalCounter += 1;
  return emulator.addPortal({
    domain: `ev${portalCounter}.bitrix24.${region === 'east' ? 'ru' : 'com'}`,
    region,
    installed,
  });
}

function only(receiver: Receiver): ReceivedRequest {
  expect(receiver.requests).toHaveLength(1);
  const [request] = receiver.requests;
  if (request === undefined) throw new Error('no request received');
  return request;
}

beforeAll(async () => {
  handler = await startReceiver({ body: '{"status":"success"}' });
  installPage = await startReceiver({ body: '<html><script>BX24.installFinish()</script></html>' });
  emulator = await startBitrixEmulator({
    app: { ...APP, eventHandlerUrl: `${handler.url}/bitrix/events?x=1`, installUrl: `${installPage.url}/install` },
    clock: { frozen: true, startAt: START },
  });
});

beforeEach(() => {
  handler.requests.length = 0;
  installPage.requests.length = 0;
});

afterAll(async () => {
  await emulator.stop();
  await handler.stop();
  await installPage.stop();
});

describe('install', () => {
  it('posts ONAPPINSTALL form-encoded with bracket keys, string leaves and both tokens', async () => {
    // Prepare
    const portal = newPortal('west');

    // Act
    const result = await emulator.install(portal);

    // Assess
    const request = only(handler);
    expect(result).toMatchObject({ delivered: true, status: 200, body: '{"status":"success"}' });
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/bitrix/events?x=1');
    expect(request.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(request.headers['user-agent']).toBe('Bitrix24 Webhook Engine');
    expect(request.body.startsWith('event=ONAPPINSTALL&event_handler_id=')).toBe(true);
    expect(request.body).toContain('auth%5Baccess_token%5D=');
    expect(request.body).toContain('data%5BVERSION%5D=1');
    expect(request.form).toEqual({
      event: 'ONAPPINSTALL',
      event_handler_id: expect.stringMatching(/^\d+$/),
      data: { VERSION: '1', ACTIVE: 'Y', INSTALLED: 'Y', LANGUAGE_ID: 'en' },
      ts: String(Math.floor(START / 1000)),
      auth: {
        access_token: result.tokens?.accessToken,
        expires: String(Math.floor(START / 1000) + 3600),
        expires_in: '3600',
        scope: 'crm,user_brief,placement',
        domain: portal.domain,
        server_endpoint: 'https://oauth.bitrix.info/rest/',
        status: 'L',
        client_endpoint: `https://${portal.domain}/rest/`,
        member_id: portal.memberId,
        user_id: '1',
        refresh_token: result.tokens?.refreshToken,
        application_token: portal.applicationToken(),
      },
    });
    expect(portal.applicationToken()).toMatch(/^[0-9a-f]{32}$/);
    expect(emulator.counters.events.byName.ONAPPINSTALL?.['200']).toBeGreaterThanOrEqual(1);
  });

  it('gives an east portal oauth.bitrix24.tech and its language, and the event tokens work', async () => {
    // Prepare
    const portal = newPortal('east');

    // Act
    const result = await emulator.install(portal);
    const refreshToken = String(at(only(handler).form, 'auth', 'refresh_token'));
    const refreshed = await tokenRequest(
      emulator,
      {
        grant_type: 'refresh_token',
        client_id: APP.clientId,
        client_secret: APP.clientSecret,
        refresh_token: refreshToken,
      },
      { host: 'oauth.bitrix24.tech' },
    );

    // Assess
    expect(at(only(handler).form, 'auth', 'server_endpoint')).toBe('https://oauth.bitrix24.tech/rest/');
    expect(at(only(handler).form, 'data', 'LANGUAGE_ID')).toBe('ru');
    expect(result.tokens?.refreshToken).toBe(refreshToken);
    expect(refreshed.status).toBe(200);
  });

  it('sends nothing with sendEvent: false but still installs', async () => {
    // Prepare
    const portal = newPortal();

    // Act
    const result = await emulator.install(portal, { sendEvent: false });

    // Assess
    expect(result.delivered).toBe(false);
    expect(handler.requests).toHaveLength(0);
    expect(portal.isInstalled()).toBe(true);
    expect(
      (await restRequest(emulator, portal.domain, 'profile', { auth: result.tokens?.accessToken ?? '' })).status,
    ).toBe(200);
  });
});

describe('uninstall', () => {
  it('posts ONAPPUNINSTALL without tokens, with the application_token the installation had and CLEAN', async () => {
    // Prepare
    const portal = newPortal();
    await emulator.install(portal, { sendEvent: false });
    const applicationToken = portal.applicationToken();

    // Act
    const result = await emulator.uninstall(portal, { clean: false });

    // Assess
    const request = only(handler);
    expect(result.applicationToken).toBe(applicationToken);
    expect(request.form).toEqual({
      event: 'ONAPPUNINSTALL',
      event_handler_id: expect.stringMatching(/^\d+$/),
      data: { CLEAN: '0', LANGUAGE_ID: 'en' },
      ts: expect.stringMatching(/^\d+$/),
      auth: {
        domain: portal.domain,
        client_endpoint: `https://${portal.domain}/rest/`,
        server_endpoint: 'https://oauth.bitrix.info/rest/',
        member_id: portal.memberId,
        application_token: applicationToken,
      },
    });
    expect(portal.isInstalled()).toBe(false);
  });

  it('sends CLEAN=1 by default', async () => {
    // Prepare
    const portal = newPortal('west', true);

    // Act
    await emulator.uninstall(portal);

    // Assess
    expect(at(only(handler).form, 'data', 'CLEAN')).toBe('1');
  });
});

describe('update', () => {
  it('posts ONAPPUPDATE with versions, a new chain and optionally a new application_token', async () => {
    // Prepare
    const portal = newPortal('west', true);
    const before = portal.applicationToken();

    // Act
    const result = await emulator.update(portal, { version: 2, rotateApplicationToken: true });

    // Assess
    const form = only(handler).form;
    expect(form.event).toBe('ONAPPUPDATE');
    expect(form.data).toEqual({ VERSION: '2', PREVIOUS_VERSION: '1', LANGUAGE_ID: 'en' });
    expect(at(form, 'auth', 'refresh_token')).toBe(result.tokens?.refreshToken);
    expect(at(form, 'auth', 'application_token')).toBe(portal.applicationToken());
    expect(portal.applicationToken()).not.toBe(before);
  });
});

describe('sendEvent', () => {
  it('sends an ordinary event with an access token only and applies auth overrides', async () => {
    // Prepare
    const portal = newPortal('west', true);

    // Act
    await emulator.sendEvent(portal, 'ONCRMDEALADD', {
      data: { FIELDS: { ID: 7405 } },
      auth: { application_token: 'forged', user_id: null },
    });

    // Assess
    const form = only(handler).form;
    expect(form.event).toBe('ONCRMDEALADD');
    expect(form.data).toEqual({ FIELDS: { ID: '7405' } });
    expect(at(form, 'auth', 'access_token')).toMatch(/^[0-9a-f]{70}$/);
    expect(at(form, 'auth', 'refresh_token')).toBeUndefined();
    expect(at(form, 'auth', 'user_id')).toBeUndefined();
    expect(at(form, 'auth', 'application_token')).toBe('forged');
  });

  it('sends a raw body with the given content type', async () => {
    // Prepare
    const portal = newPortal('west', true);

    // Act
    const result = await emulator.sendEvent(portal, 'ONAPPINSTALL', {
      raw: '{"event":"ONAPPINSTALL"}',
      contentType: 'application/json',
    });

    // Assess
    const request = only(handler);
    expect(result.status).toBe(200);
    expect(request.body).toBe('{"event":"ONAPPINSTALL"}');
    expect(request.headers['content-type']).toBe('application/json');
  });

  it('reports status 0 when the handler is unreachable', async () => {
    // Prepare
    const portal = newPortal('west', true);
    const gone = await startReceiver();
    await gone.stop();

    // Act
    const result = await emulator.sendEvent(portal, 'ONAPPTEST', { url: gone.url });

    // Assess
    expect(result.status).toBe(0);
    expect(result.error).toEqual(expect.any(String));
    expect(emulator.counters.events.byName.ONAPPTEST).toEqual({ '0': 1 });
  });
});

describe('openApp', () => {
  it('posts the frame: DOMAIN, PROTOCOL, LANG, APP_SID in the query and a fresh chain in the form body', async () => {
    // Prepare
    const portal = newPortal('west', true);

    // Act
    const result = await emulator.openApp(portal, { placementOptions: { any: '28/' } });

    // Assess
    const request = only(installPage);
    const query = new URL(request.url, 'http://x').searchParams;
    expect(result.status).toBe(200);
    expect(result.body).toContain('installFinish');
    expect(query.get('DOMAIN')).toBe(portal.domain);
    expect(query.get('PROTOCOL')).toBe('1');
    expect(query.get('LANG')).toBe('en');
    expect(query.get('APP_SID')).toMatch(/^[0-9a-f]{32}$/);
    expect(query.get('APP_SID')).not.toBe(portal.applicationToken());
    expect(request.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(request.form).toEqual({
      AUTH_ID: result.tokens.accessToken,
      AUTH_EXPIRES: '3600',
      REFRESH_ID: result.tokens.refreshToken,
      SERVER_ENDPOINT: 'https://oauth.bitrix.info/rest/',
      APPLICATION_TOKEN: portal.applicationToken(),
      APPLICATION_SCOPE: 'crm,user_brief,placement',
      member_id: portal.memberId,
      status: 'L',
      PLACEMENT: 'DEFAULT',
      PLACEMENT_OPTIONS: '{"any":"28/"}',
    });
    expect(emulator.chainState(portal).map((chain) => chain.origin)).toEqual(['frame']);
    expect(emulator.counters.frameOpens.byPortal[portal.memberId]).toBe(1);
  });

  it('leaves out SERVER_ENDPOINT, APPLICATION_TOKEN and APPLICATION_SCOPE like the 2024 capture when asked', async () => {
    // Prepare
    const portal = newPortal('west', true);

    // Act
    await emulator.openApp(portal, {
      includeServerEndpoint: false,
      includeApplicationToken: false,
      includeScope: false,
    });

    // Assess
    expect(Object.keys(only(installPage).form)).toEqual([
      'AUTH_ID',
      'AUTH_EXPIRES',
      'REFRESH_ID',
      'member_id',
      'status',
      'PLACEMENT',
      'PLACEMENT_OPTIONS',
    ]);
  });
});
