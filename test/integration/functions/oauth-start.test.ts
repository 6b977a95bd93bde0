import { DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeOAuthStart } from '#functions/oauth-start.js';
import { type LambdaHttpServer, startLambdaHttpServer } from '#local/lambda-http-server.js';
import { type SecretsManagerServer, startSecretsManagerServer } from '#local/secrets-manager-server.js';
import { hashBrowserBinding } from '#shared/core/domain/authorization-state.js';
import { PLAIN_BINDING_COOKIE, SECURE_BINDING_COOKIE } from '#shared/edge/oauth-pages.js';
import { awsClientSettingsFromEnv } from '#shared/runtime/clients.js';
import { loadConfig } from '#shared/runtime/config.js';
import { wire } from '#shared/runtime/wiring.js';
import { powertoolsLogger } from '#test/helpers/builders/loggers.js';
import { createTestTable, type TestTable } from '#test/helpers/harnesses/table.js';

let table: TestTable;
let secrets: SecretsManagerServer;
let api: LambdaHttpServer;

beforeAll(async () => {
  table = await createTestTable('oauth-start');
  secrets = await startSecretsManagerServer({
    creds: JSON.stringify({ clientId: 'app.start.1', clientSecret: 'never-shown' }),
  });
  // The function environment CDK would set, and the production wiring on it.
  const env = {
    TABLE_NAME: table.tableName,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    CLIENT_CREDENTIALS_SECRET_ID: 'creds',
    BITRIX_URL_REWRITES: JSON.stringify({ '*': 'http://127.0.0.1:9/h/{host}' }),
    OAUTH_STATE_TTL_SECONDS: '300',
    OAUTH_COOKIE_SECURE: 'auto',
    BITRIX_ON_PREMISE_PORTALS: 'crm.example.org:8443',
  };
  const wiring = wire(loadConfig(env), {
    aws: awsClientSettingsFromEnv({ ...process.env, ...env }),
    logger: powertoolsLogger(),
  });
  api = await startLambdaHttpServer({ 'GET /oauth/start': makeOAuthStart(wiring) });
});
afterAll(async () => {
  await api.stop();
  await secrets.stop();
  await table.drop();
});

async function start(portal: string, headers: Record<string, string> = {}) {
  return fetch(`${api.url}/oauth/start?${new URLSearchParams({ portal })}`, { redirect: 'manual', headers });
}

async function storedState(state: string) {
  const doc = DynamoDBDocumentClient.from(table.client);
  const { Item } = await doc.send(
    new GetCommand({ TableName: table.tableName, Key: { pk: `STATE#${state}`, sk: 'STATE' } }),
  );
  return Item;
}

async function itemCount() {
  const { Count } = await table.client.send(new ScanCommand({ TableName: table.tableName, Select: 'COUNT' }));
  return Count ?? 0;
}

describe('GET /oauth/start (DynamoDB Local, local Secrets Manager)', () => {
  it('redirects to the portal consent page with client_id and a stored, browser-bound state', async () => {
    // Act
    const response = await start('Alpha.Bitrix24.com', { 'x-forwarded-proto': 'https' });

    // Assess
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get('location') ?? '');
    expect(`${location.origin}${location.pathname}`).toBe('http://127.0.0.1:9/h/alpha.bitrix24.com/oauth/authorize/');
    expect(location.searchParams.get('client_id')).toBe('app.start.1');
    const state = location.searchParams.get('state') ?? '';
    expect(state).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const [cookie = ''] = response.headers.getSetCookie();
    expect(cookie).toMatch(
      new RegExp(`^${SECURE_BINDING_COOKIE}=[A-Za-z0-9_-]{43}; Path=/; Max-Age=300; HttpOnly; SameSite=Lax; Secure$`),
    );
    const binding = cookie.slice(SECURE_BINDING_COOKIE.length + 1, SECURE_BINDING_COOKIE.length + 44);

    const item = await storedState(state);
    expect(item).toMatchObject({ portal: 'alpha.bitrix24.com', browserBindingHash: hashBrowserBinding(binding) });
    expect(Number(item?.expiresAt) - Number(item?.createdAt)).toBe(300_000);
    expect(item?.ttl).toBe(Math.ceil(Number(item?.expiresAt) / 1000));
    expect(JSON.stringify(item)).not.toContain(binding);
  });

  it('sets a plain (non-Secure, unprefixed) cookie when the request came over http', async () => {
    // Act
    const response = await start('alpha.bitrix24.com', { 'x-forwarded-proto': 'http' });

    // Assess
    expect(response.status).toBe(302);
    const [cookie = ''] = response.headers.getSetCookie();
    expect(cookie.startsWith(`${PLAIN_BINDING_COOKIE}=`)).toBe(true);
    expect(cookie).not.toContain('Secure');
    expect(cookie).toContain('HttpOnly; SameSite=Lax');
  });

  it('keeps a port for an on-premise portal', async () => {
    const response = await start('crm.example.org:8443');
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toMatch(
      /^http:\/\/127\.0\.0\.1:9\/h\/crm\.example\.org:8443\/oauth\/authorize\/\?/,
    );
  });

  it('reuses the binding the browser already holds, so parallel tabs both work', async () => {
    // Prepare
    const first = await start('alpha.bitrix24.com', { 'x-forwarded-proto': 'https' });
    const [cookie = ''] = first.headers.getSetCookie();
    const pair = cookie.split(';')[0] ?? '';

    // Act
    const second = await start('beta.bitrix24.com', { 'x-forwarded-proto': 'https', cookie: pair });

    // Assess
    expect(second.headers.getSetCookie()[0]?.split(';')[0]).toBe(pair);
  });

  it.each([
    'https://alpha.bitrix24.com',
    'alpha.bitrix24.com/x',
    'user@alpha.bitrix24.com',
    '127.0.0.1',
    '[::1]',
    'evil.example',
    'alpha.bitrix24.com.evil.example',
    'crm.example.org',
  ])('answers %j with a 400 page and stores nothing', async (portal) => {
    // Prepare
    const before = await itemCount();

    // Act
    const response = await start(portal);
    const body = await response.text();

    // Assess
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toContain('text/html');
    expect(response.headers.get('location')).toBeNull();
    expect(response.headers.getSetCookie()).toEqual([]);
    expect(body).toContain('name="portal"');
    expect(await itemCount()).toBe(before);
  });

  it('takes the client id from BITRIX_CLIENT_ID without any access to the secret, as deployed', async () => {
    // Prepare: the deployed function's environment: the table and the client id, no secret id
    const deployed = wire(
      loadConfig({ TABLE_NAME: table.tableName, BITRIX_CLIENT_ID: 'app.deployed.1', OAUTH_COOKIE_SECURE: 'auto' }),
      { aws: awsClientSettingsFromEnv(process.env), logger: powertoolsLogger() },
    );
    const server = await startLambdaHttpServer({ 'GET /oauth/start': makeOAuthStart(deployed) });

    try {
      // Act
      const response = await fetch(`${server.url}/oauth/start?portal=alpha.bitrix24.com`, { redirect: 'manual' });

      // Assess
      expect(response.status).toBe(302);
      expect(new URL(response.headers.get('location') ?? '').searchParams.get('client_id')).toBe('app.deployed.1');
    } finally {
      await server.stop();
    }
  });

  it('fails closed without a client id and stores nothing', async () => {
    // Prepare: neither BITRIX_CLIENT_ID nor a secret
    const unconfigured = wire(loadConfig({ TABLE_NAME: table.tableName }), {
      aws: awsClientSettingsFromEnv(process.env),
      logger: powertoolsLogger(),
    });
    const server = await startLambdaHttpServer({ 'GET /oauth/start': makeOAuthStart(unconfigured) });
    const before = await itemCount();

    try {
      // Act
      const response = await fetch(`${server.url}/oauth/start?portal=alpha.bitrix24.com`, { redirect: 'manual' });

      // Assess
      expect(response.status).toBe(500);
      expect(response.headers.get('location')).toBeNull();
      expect(await itemCount()).toBe(before);
    } finally {
      await server.stop();
    }
  });

  it('shows the address form when no portal is given', async () => {
    const response = await fetch(`${api.url}/oauth/start`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('Your Bitrix24 address');
  });
});
