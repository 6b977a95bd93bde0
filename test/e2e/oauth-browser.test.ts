import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BitrixEmulator } from '#local/emulator/index.js';
import type { LambdaHttpServer } from '#local/lambda-http-server.js';
import { DynamoDbTokenRepository } from '#shared/adapters/dynamodb/token-repository.js';
import { type DeployedEnv, startDeployedEnv, startOAuthApi } from '#test/helpers/harnesses/deployed-env.js';
import type { TestTable } from '#test/helpers/harnesses/table.js';
import { launchChromium, waitForChromium } from '#test/helpers/processes/browser.js';

const CLIENT = {
  clientId: 'local.oauthbrowser.12345678',
  clientSecret: 'OAuthBrowserClientSecret0123456789abcdefghijk',
};

let deployed: DeployedEnv;
let table: TestTable;
let emulator: BitrixEmulator;
let api: LambdaHttpServer;
let browser: Browser;

beforeAll(async () => {
  deployed = await startDeployedEnv({
    tableName: 'oauth-e2e',
    secretId: 'oauth-app',
    client: CLIENT,
    // Plain http on 127.0.0.1: a Secure cookie would not come back.
    env: { OAUTH_COOKIE_SECURE: 'false' },
  });
  ({ table, emulator } = deployed);
  api = await startOAuthApi(deployed);
  await waitForChromium();
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await api?.stop();
  await deployed?.stop();
});

describe('OAuth flow in a real browser', () => {
  it('goes from the address form through the portal consent to the success page and stores the tokens', async () => {
    // Prepare
    const portal = emulator.addPortal({ domain: 'browser.bitrix24.com', region: 'west', installed: true });
    const context = await browser.newContext();
    const page = await context.newPage();
    const visited: string[] = [];
    // Every hop of the redirect chain, as the browser requested it.
    page.on('request', (request) => {
      if (request.isNavigationRequest()) visited.push(new URL(request.url()).pathname);
    });

    // Act
    await page.goto(`${api.url}/oauth/start`);
    await page.fill('input[name="portal"]', 'Browser.Bitrix24.com');
    await Promise.all([page.waitForURL(/\/oauth\/callback\?/), page.click('button[type="submit"]')]);
    const heading = await page.textContent('h1');
    const body = await page.textContent('body');
    const cookies = await context.cookies(api.url);
    const reloaded = await page.reload();
    const reloadBody = await page.textContent('body');
    await context.close();

    // Assess
    expect(heading).toBe('Your Bitrix24 is connected');
    expect(body).toContain('browser.bitrix24.com is connected');
    expect(emulator.counters.authorize.redirect).toBe(1);
    expect(cookies).toEqual([
      expect.objectContaining({ name: 'b24_oauth_binding', httpOnly: true, sameSite: 'Lax', path: '/' }),
    ]);
    const stored = await new DynamoDbTokenRepository({ client: table.client, tableName: table.tableName }).getTokenSet({
      memberId: portal.memberId,
      userId: 1,
    });
    expect(stored).toMatchObject({
      source: 'oauth_code',
      status: 'active',
      domain: 'browser.bitrix24.com',
      version: 1,
    });
    const [chain] = emulator.chainState(portal, 1);
    expect(emulator.fingerprint(stored?.refreshToken ?? '')).toBe(chain?.refreshFingerprint);
    // A reload of the callback gets the neutral page (it names no portal) and writes nothing.
    expect(reloaded?.status()).toBe(400);
    expect(reloadBody).toContain('This link is no longer valid');
    expect(reloadBody).not.toContain('browser.bitrix24.com');
    const afterReload = await new DynamoDbTokenRepository({
      client: table.client,
      tableName: table.tableName,
    }).getTokenSet({
      memberId: portal.memberId,
      userId: 1,
    });
    expect(afterReload?.version).toBe(1);
    expect(visited.slice(0, 4)).toEqual([
      '/oauth/start',
      '/oauth/start',
      '/h/browser.bitrix24.com/oauth/authorize/',
      '/oauth/callback',
    ]);
  });
});
