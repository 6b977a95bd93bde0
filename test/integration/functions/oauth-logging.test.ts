import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BitrixEmulator } from '#local/emulator/index.js';
import type { LambdaHttpServer } from '#local/lambda-http-server.js';
import { DynamoDbTokenRepository } from '#shared/adapters/dynamodb/token-repository.js';
import { type DeployedEnv, startDeployedEnv, startOAuthApi } from '#test/helpers/harnesses/deployed-env.js';
import type { TestTable } from '#test/helpers/harnesses/table.js';
import { captureOutput } from '#test/helpers/vitest/capture-output.js';

const CLIENT = {
  clientId: 'local.oauthlogs01.12345678',
  clientSecret: 'OAuthLogsClientSecretMustNeverBeLogged0123456789',
};

let deployed: DeployedEnv;
let table: TestTable;
let emulator: BitrixEmulator;
let api: LambdaHttpServer;

beforeAll(async () => {
  deployed = await startDeployedEnv({
    tableName: 'oauth-logs',
    secretId: 'oauth-app',
    client: CLIENT,
    // Everything the logger can say, so the assertion covers debug output too.
    env: { OAUTH_COOKIE_SECURE: 'false', POWERTOOLS_LOG_LEVEL: 'DEBUG' },
  });
  ({ table, emulator } = deployed);
  api = await startOAuthApi(deployed);
});
afterAll(async () => {
  await api.stop();
  await deployed.stop();
});

async function authorize(domain: string) {
  const start = await fetch(`${api.url}/oauth/start?${new URLSearchParams({ portal: domain })}`, {
    redirect: 'manual',
  });
  const cookie = start.headers.getSetCookie()[0]?.split(';')[0] ?? '';
  const consent = await fetch(start.headers.get('location') ?? '', { redirect: 'manual' });
  return { cookie, callbackUrl: new URL(consent.headers.get('location') ?? '') };
}

describe('OAuth flow logging', () => {
  it('never writes a code, state, binding, token, query string or the client secret to the logs', async () => {
    // Prepare
    const portal = emulator.addPortal({ domain: 'logs.bitrix24.com', region: 'west', installed: true });
    const late = emulator.addPortal({ domain: 'late.bitrix24.com', region: 'west', installed: true });
    const secretsSeen: string[] = [CLIENT.clientSecret];

    // Act
    const output = await captureOutput(async () => {
      const ok = await authorize(portal.domain);
      const expired = await authorize(late.domain);
      secretsSeen.push(ok.cookie.split('=')[1] ?? '', expired.cookie.split('=')[1] ?? '');
      for (const { callbackUrl } of [ok, expired]) {
        secretsSeen.push(
          callbackUrl.searchParams.get('code') ?? '',
          callbackUrl.searchParams.get('state') ?? '',
          callbackUrl.search.slice(1),
        );
      }
      expect((await fetch(ok.callbackUrl, { headers: { cookie: ok.cookie } })).status).toBe(200);
      await fetch(ok.callbackUrl, { headers: { cookie: ok.cookie } }); // reload
      await fetch(ok.callbackUrl); // no cookie
      emulator.clock.advance(31_000);
      expect((await fetch(expired.callbackUrl, { headers: { cookie: expired.cookie } })).status).toBe(400);
      emulator.faults.failNext('token', 1, { status: 503 });
      const failing = await authorize(portal.domain);
      secretsSeen.push(
        failing.callbackUrl.searchParams.get('code') ?? '',
        failing.callbackUrl.searchParams.get('state') ?? '',
      );
      expect((await fetch(failing.callbackUrl, { headers: { cookie: failing.cookie } })).status).toBe(502);
    });

    // Assess
    const stored = await new DynamoDbTokenRepository({ client: table.client, tableName: table.tableName }).getTokenSet({
      memberId: portal.memberId,
      userId: 1,
    });
    secretsSeen.push(stored?.accessToken ?? 'missing', stored?.refreshToken ?? 'missing');
    // The capture really saw the flow's log lines…
    expect(output).toContain('authorization started');
    expect(output).toContain('authorization completed');
    expect(output).toContain('code_expired');
    expect(output).toContain('server_failed');
    // …and none of its secrets.
    for (const secret of secretsSeen) {
      expect(secret.length).toBeGreaterThan(8);
      expect(output).not.toContain(secret);
    }
  });
});
