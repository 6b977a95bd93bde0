import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BitrixEmulator, startBitrixEmulator } from '#local/emulator/index.js';
import { type Receiver, startReceiver, tokenRequest } from './helpers.js';

const APP = {
  clientId: 'local.aa1b2c3d4e5f60.77777777',
  clientSecret: 'ControlSecretControlSecretControlSecretContr07',
  redirectUri: 'http://127.0.0.1:9/oauth/callback',
};

let emulator: BitrixEmulator;
let handler: Receiver;

async function post(path: string, fields: Record<string, string>): Promise<Response> {
  return fetch(`${emulator.baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
    redirect: 'manual',
  });
}

beforeAll(async () => {
  handler = await startReceiver();
  emulator = await startBitrixEmulator({
    app: { ...APP, eventHandlerUrl: `${handler.url}/events`, installUrl: `${handler.url}/install` },
    portals: [{ domain: 'alpha.bitrix24.com', region: 'west' }],
    clock: { frozen: true, startAt: Date.UTC(2026, 5, 1) },
  });
});

afterAll(async () => {
  await emulator.stop();
  await handler.stop();
});

describe('emulator URLs', () => {
  it('rewrites real Bitrix24 URLs onto /h/{host} and exposes the rewrite map', () => {
    // Act
    const url = emulator.urlFor('https://alpha.bitrix24.com/oauth/authorize/?a=b');

    // Assess
    expect(url).toBe(`${emulator.baseUrl}/h/alpha.bitrix24.com/oauth/authorize/?a=b`);
    expect(emulator.urlRewrites).toEqual({ '*': `${emulator.baseUrl}/h/{host}` });
    expect(emulator.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});

describe('control page', () => {
  it('lists portals with install and authorize actions', async () => {
    // Act
    const response = await fetch(`${emulator.baseUrl}/`);
    const html = await response.text();

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/html');
    expect(html).toContain('alpha.bitrix24.com');
    expect(html).toContain('Install');
    expect(html).not.toContain(APP.clientSecret);
  });
});

describe('control JSON API', () => {
  it('adds a portal, installs the app (event delivered) and reports state without secrets', async () => {
    // Act
    const added = await post('/_emulator/portals', { domain: 'beta.bitrix24.ru', region: 'east' });
    const installed = await post('/_emulator/portals/beta.bitrix24.ru/install', { _redirect: '1' });
    const state = await fetch(`${emulator.baseUrl}/_emulator/state`);
    const stateText = await state.text();

    // Assess
    expect(added.status).toBe(200);
    expect(await added.json()).toMatchObject({ domain: 'beta.bitrix24.ru', authServerHost: 'oauth.bitrix24.tech' });
    expect(installed.status).toBe(303);
    expect(installed.headers.get('location')).toMatch(/^\/\?message=installed/);
    expect(handler.requests.some((request) => request.form.event === 'ONAPPINSTALL')).toBe(true);
    expect(stateText).not.toContain(APP.clientSecret);
    expect(JSON.parse(stateText)).toMatchObject({
      portals: expect.arrayContaining([expect.objectContaining({ domain: 'beta.bitrix24.ru' })]),
    });
  });

  it('sends the browser from the authorize link through the portal to the redirect_uri', async () => {
    // Prepare
    await post('/_emulator/portals/alpha.bitrix24.com/install', { sendEvent: 'false' });

    // Act
    const link = await fetch(`${emulator.baseUrl}/_emulator/portals/alpha.bitrix24.com/authorize`, {
      redirect: 'manual',
    });
    const portalPage = await fetch(link.headers.get('location') ?? '', { redirect: 'manual' });

    // Assess
    expect(link.status).toBe(302);
    expect(portalPage.status).toBe(302);
    expect(portalPage.headers.get('location')).toMatch(
      /^http:\/\/127\.0\.0\.1:9\/oauth\/callback\?code=[0-9a-f]{70}&state=&domain=alpha\.bitrix24\.com/,
    );
  });

  it('sets and clears faults, advances the clock and resets counters', async () => {
    // Prepare
    const before = emulator.clock.now();

    // Act
    const set = await post('/_emulator/faults/token', { failNext: '1', failStatus: '502' });
    const failed = await fetch(emulator.urlFor('https://oauth.bitrix.info/oauth/token/'));
    await failed.text();
    await post('/_emulator/faults/token', { failNext: '5' });
    const cleared = await fetch(`${emulator.baseUrl}/_emulator/faults`, { method: 'DELETE' });
    const afterClear = await tokenRequest(emulator, { grant_type: 'refresh_token' });
    const clock = await post('/_emulator/clock', { advanceMs: '86400000' });
    const reset = await post('/_emulator/counters/reset', {});
    const counters = await fetch(`${emulator.baseUrl}/_emulator/counters`);

    // Assess
    expect(set.status).toBe(200);
    expect(failed.status).toBe(502);
    expect(cleared.status).toBe(200);
    expect(afterClear.body.error).toBe('invalid_request');
    expect(await clock.json()).toEqual({ now: before + 86_400_000 });
    expect(reset.status).toBe(200);
    expect(await counters.json()).toMatchObject({ token: { total: 0 } });
  });

  it('serves a browser frame page that posts the frame fields to the install URL', async () => {
    // Act
    const response = await fetch(`${emulator.baseUrl}/_emulator/portals/alpha.bitrix24.com/frame`);
    const html = await response.text();

    // Assess
    expect(response.status).toBe(200);
    expect(html).toContain(`action="${handler.url}/install?DOMAIN=alpha.bitrix24.com`);
    expect(html).toContain('name="AUTH_ID"');
    expect(html).toContain('name="REFRESH_ID"');
  });

  it('answers 409 with the reason when an action is impossible', async () => {
    // Prepare
    await post('/_emulator/portals', { domain: 'gamma.bitrix24.com', region: 'west' });

    // Act
    const response = await post('/_emulator/portals/gamma.bitrix24.com/uninstall', {});

    // Assess
    expect(response.status).toBe(409);
    expect(await response.json()).toEqual({ error: expect.stringContaining('not installed') });
  });
});
