import { makeOAuthCallback } from '#functions/oauth-callback.js';
import { makeOAuthStart } from '#functions/oauth-start.js';
import { type BitrixEmulator, startBitrixEmulator } from '#local/emulator/index.js';
import { type LambdaHttpServer, startLambdaHttpServer } from '#local/lambda-http-server.js';
import { type SecretsManagerServer, startSecretsManagerServer } from '#local/secrets-manager-server.js';
import { awsClientSettingsFromEnv } from '#shared/runtime/clients.js';
import { loadConfig } from '#shared/runtime/config.js';
import { type WireOptions, type Wiring, wire } from '#shared/runtime/wiring.js';
import { powertoolsLogger } from '#test/helpers/builders/loggers.js';
import { createTestTable, type TestTable } from './table.js';

/** The table, local Secrets Manager and Bitrix24 emulator behind handlers wired as deployed. */
export interface DeployedEnv {
  readonly table: TestTable;
  readonly secrets: SecretsManagerServer;
  readonly emulator: BitrixEmulator;
  /** The function environment CDK would set for these resources (plus the test's `env`). */
  readonly env: Readonly<Record<string, string>>;
  /**
   * The production wiring (`wire(loadConfig(env))`) with SDK clients pointed at the local servers the
   * way `AWS_ENDPOINT_URL_*` points a function's; `POWERTOOLS_LOG_LEVEL` of `env` sets the log level.
   */
  wiring(options?: WireOptions): Wiring;
  stop(): Promise<void>;
}

/**
 * Starts a test table, a local Secrets Manager holding `client` under `secretId` and an emulator that
 * knows that app, and describes them as the environment a deployed function gets (`env` adds to or
 * overrides it). Nothing is written to `process.env`: handlers come from the functions' factories.
 */
export async function startDeployedEnv(options: {
  tableName: string;
  secretId: string;
  client: { clientId: string; clientSecret: string };
  env?: Record<string, string>;
  /** The emulator's clock. @default real time */
  clock?: { readonly frozen?: boolean; readonly startAt?: number };
}): Promise<DeployedEnv> {
  const table = await createTestTable(options.tableName);
  const secrets = await startSecretsManagerServer({ [options.secretId]: JSON.stringify(options.client) });
  const emulator = await startBitrixEmulator({ app: options.client, clock: options.clock });
  const env: Record<string, string> = {
    TABLE_NAME: table.tableName,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    CLIENT_CREDENTIALS_SECRET_ID: options.secretId,
    BITRIX_URL_REWRITES: JSON.stringify(emulator.urlRewrites),
    ...options.env,
  };
  const logLevel = env.POWERTOOLS_LOG_LEVEL;
  return {
    table,
    secrets,
    emulator,
    env,
    wiring: (wireOptions = {}) =>
      wire(loadConfig(env), {
        aws: awsClientSettingsFromEnv({ ...process.env, ...env }),
        logger: powertoolsLogger(
          logLevel === 'DEBUG' || logLevel === 'INFO' || logLevel === 'WARN' || logLevel === 'ERROR'
            ? logLevel
            : undefined,
        ),
        ...wireOptions,
      }),
    async stop() {
      await emulator.stop();
      await secrets.stop();
      await table.drop();
    },
  };
}

/**
 * Serves the `oauth-start` and `oauth-callback` handlers as deployed and registers their callback as
 * the emulator app's redirect URI.
 */
export async function startOAuthApi(deployed: DeployedEnv): Promise<LambdaHttpServer> {
  const wiring = deployed.wiring();
  const api = await startLambdaHttpServer({
    'GET /oauth/start': makeOAuthStart(wiring),
    'GET /oauth/callback': makeOAuthCallback(wiring),
  });
  deployed.emulator.updateApp({ redirectUri: `${api.url}/oauth/callback` });
  return api;
}
