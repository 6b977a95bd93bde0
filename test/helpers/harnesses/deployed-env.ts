import { type BitrixEmulator, startBitrixEmulator } from '#local/emulator/index.js';
import { type LambdaHttpServer, startLambdaHttpServer } from '#local/lambda-http-server.js';
import { type SecretsManagerServer, startSecretsManagerServer } from '#local/secrets-manager-server.js';
import { createTestTable, type TestTable } from './table.js';

/** The table, local Secrets Manager and Bitrix24 emulator behind env-configured (deployed) handlers. */
export interface DeployedEnv {
  readonly table: TestTable;
  readonly secrets: SecretsManagerServer;
  readonly emulator: BitrixEmulator;
  stop(): Promise<void>;
}

/**
 * Starts a test table, a local Secrets Manager holding `client` under `secretId` and an emulator that
 * knows that app, then sets the environment the deployed handlers read when their modules load
 * (`env` adds to or overrides it). Import the handlers only after this resolves.
 */
export async function startDeployedEnv(options: {
  tableName: string;
  secretId: string;
  client: { clientId: string; clientSecret: string };
  env?: Record<string, string>;
}): Promise<DeployedEnv> {
  const table = await createTestTable(options.tableName);
  const secrets = await startSecretsManagerServer({ [options.secretId]: JSON.stringify(options.client) });
  const emulator = await startBitrixEmulator({ app: options.client });
  Object.assign(process.env, {
    TABLE_NAME: table.tableName,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    CLIENT_CREDENTIALS_SECRET_ID: options.secretId,
    BITRIX_URL_REWRITES: JSON.stringify(emulator.urlRewrites),
    ...options.env,
  });
  return {
    table,
    secrets,
    emulator,
    async stop() {
      await emulator.stop();
      await secrets.stop();
      await table.drop();
    },
  };
}

/**
 * Serves the deployed `oauth-start` and `oauth-callback` handlers and registers their callback as the
 * emulator app's redirect URI. Call after `startDeployedEnv`.
 */
export async function startOAuthApi(emulator: BitrixEmulator): Promise<LambdaHttpServer> {
  const start = await import('#functions/oauth-start.js');
  const callback = await import('#functions/oauth-callback.js');
  const api = await startLambdaHttpServer({
    'GET /oauth/start': start.handler,
    'GET /oauth/callback': callback.handler,
  });
  emulator.updateApp({ redirectUri: `${api.url}/oauth/callback` });
  return api;
}
