import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAppEvents } from '#functions/app-events.js';
import { makeInstallPage } from '#functions/install-page.js';
import { makeProcessParkedEvents } from '#functions/process-parked-events.js';
import type { BitrixEmulator } from '#local/emulator/index.js';
import { type LambdaHttpServer, localContext, startLambdaHttpServer } from '#local/lambda-http-server.js';
import { noParkedClaimDue, startTableStream, type TableStream } from '#local/table-stream.js';
import { DynamoDbParkedEventRepository } from '#shared/adapters/dynamodb/parked-event-repository.js';
import { PARKED_CLAIM_STREAM_FILTER } from '#shared/adapters/dynamodb/table-schema.js';
import { DynamoDbTokenRepository } from '#shared/adapters/dynamodb/token-repository.js';
import { token } from '#test/helpers/builders/fixtures.js';
import { type DeployedEnv, startDeployedEnv } from '#test/helpers/harnesses/deployed-env.js';
import type { TestTable } from '#test/helpers/harnesses/table.js';
import { captureOutput } from '#test/helpers/vitest/capture-output.js';

/**
 * The functions as deployed (each factory on `wire(loadConfig(env))`), configured only through the
 * environment CDK sets: credentials from (local) Secrets Manager, the emulator through
 * `BITRIX_URL_REWRITES`. Every log line is captured at DEBUG to prove no credential is ever written.
 */
const CLIENT = {
  clientId: 'local.lifecyclewiring.12345678',
  clientSecret: 'LifecycleSecretMustNeverBeLogged0123456789abcd',
};

let deployed: DeployedEnv;
let table: TestTable;
let emulator: BitrixEmulator;
let api: LambdaHttpServer;
let processParked: (event: unknown, context: ReturnType<typeof localContext>) => Promise<unknown>;
let stream: TableStream;
let parked: DynamoDbParkedEventRepository;

beforeAll(async () => {
  deployed = await startDeployedEnv({
    tableName: 'lifecycle-wiring',
    secretId: 'lifecycle-app',
    client: CLIENT,
    env: { PARKED_RETRY_BASE_SECONDS: '1', POWERTOOLS_LOG_LEVEL: 'DEBUG' },
  });
  ({ table, emulator } = deployed);
  parked = new DynamoDbParkedEventRepository({ client: table.client, tableName: table.tableName });
  const wiring = deployed.wiring();
  processParked = makeProcessParkedEvents(wiring);
  const installPage = makeInstallPage(wiring);
  api = await startLambdaHttpServer({
    'POST /bitrix/events': makeAppEvents(wiring),
    'GET /bitrix/install': installPage,
    'POST /bitrix/install': installPage,
  });
  emulator.updateApp({ eventHandlerUrl: `${api.url}/bitrix/events`, installUrl: `${api.url}/bitrix/install` });
  // The deployed event source mapping: newly parked claims reach process-parked-events from the table stream.
  stream = await startTableStream({
    endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB ?? '',
    tableName: table.tableName,
    filter: PARKED_CLAIM_STREAM_FILTER,
    handle: (event) => processParked(event, localContext('process-parked-events', 60_000)),
  });
});
afterAll(async () => {
  await stream.stop();
  await api.stop();
  await deployed.stop();
});

describe('lifecycle functions as deployed (wired from the function environment)', () => {
  it('install, frame open, parking, forged events and uninstall work end to end and never log a credential', async () => {
    // Prepare
    const portal = emulator.addPortal({ domain: 'wiring.bitrix24.com', region: 'west' });
    const parkedPortal = emulator.addPortal({ domain: 'wiring-parked.bitrix24.com', region: 'east' });
    const repo = new DynamoDbTokenRepository({ client: table.client, tableName: table.tableName });
    const secretsSeen: string[] = [CLIENT.clientSecret];
    const statuses: Record<string, number> = {};

    // Act
    const output = await captureOutput(async () => {
      const installed = await emulator.install(portal);
      statuses.install = installed.status;
      await stream.drain(() => noParkedClaimDue(parked, Date.now()));
      secretsSeen.push(
        installed.tokens?.accessToken ?? '',
        installed.tokens?.refreshToken ?? '',
        installed.applicationToken ?? '',
      );
      const frame = await emulator.openApp(portal);
      statuses.frame = frame.status;
      secretsSeen.push(
        frame.tokens.accessToken,
        frame.tokens.refreshToken,
        new URL(frame.url).searchParams.get('APP_SID') ?? '',
      );
      const forgedToken = token();
      secretsSeen.push(forgedToken);
      const forged = await emulator.sendEvent(portal, 'ONAPPINSTALL', {
        tokens: 'full',
        auth: { refresh_token: forgedToken },
      });
      statuses.forged = forged.status;
      await stream.drain(() => noParkedClaimDue(parked, Date.now()));
      secretsSeen.push(forged.tokens?.accessToken ?? '');
      emulator.faults.set('token', { failNext: 1000, failStatus: 503 });
      const parkedInstall = await emulator.install(parkedPortal);
      statuses.parked = parkedInstall.status;
      await stream.drain(() => noParkedClaimDue(parked, Date.now()));
      secretsSeen.push(parkedInstall.tokens?.refreshToken ?? '', parkedInstall.applicationToken ?? '');
      emulator.faults.clear('token');
      await new Promise((resolve) => setTimeout(resolve, 1300)); // the first retry is due after 1 s (PARKED_RETRY_BASE_SECONDS)
      await processParked(undefined, localContext('process-parked-events', 60_000));
      const wrongUninstall = await emulator.sendEvent(portal, 'ONAPPUNINSTALL', {
        tokens: 'none',
        auth: { application_token: 'f'.repeat(32) },
      });
      statuses.wrongUninstall = wrongUninstall.status;
      const uninstall = await emulator.uninstall(portal, { clean: false });
      statuses.uninstall = uninstall.status;
    });

    // Assess
    expect(statuses).toEqual({
      install: 202,
      frame: 200,
      forged: 202,
      parked: 202,
      wrongUninstall: 403,
      uninstall: 200,
    });
    expect((await repo.getInstallation(portal.memberId))?.status).toBe('uninstalled');
    expect(await repo.listTokenSets(portal.memberId)).toEqual([]);
    expect((await repo.getInstallation(parkedPortal.memberId))?.status).toBe('active');
    expect(output).toContain('install claim accepted');
    expect(output).toContain('"outcome":"registered"');
    expect(output).toContain('install claim refused');
    expect(output).toContain('install claim parked');
    for (const secret of secretsSeen.filter((s) => s.length > 0)) expect(output).not.toContain(secret);
    expect(output).not.toMatch(/auth%5B|auth\[|AUTH_ID|REFRESH_ID|refresh_token=/);
  });
});
