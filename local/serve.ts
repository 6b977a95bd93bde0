/**
 * `npm start`: the whole service on this machine, through the same Lambda handlers that are deployed.
 *
 * - DynamoDB Local (data kept in `.local-data/dynamodb`) with the token table,
 * - a local Secrets Manager holding the client id/secret,
 * - the API routes on http://127.0.0.1:PORT, shaped as API Gateway's HTTP API calls the functions,
 *   plus the status page (`/status`, `/status.json`),
 * - the refresh dispatcher and the parked-events processor on timers, as EventBridge Scheduler would run
 *   them; the dispatcher hands due token sets to a local SQS stand-in, from which the refresh workers take
 *   them as Lambda's event source mapping would (the same SQS adapter and handlers as deployed),
 * - the token vendor on a local Lambda `Invoke` endpoint, so consumers (the consumer package, or any AWS
 *   SDK) work against it exactly as against AWS (`consumerEnv` of the descriptor says how),
 * - unless real credentials are configured (`BITRIX_CLIENT_ID`, `BITRIX_CLIENT_SECRET`,
 *   `PUBLIC_BASE_URL`): the Bitrix24 emulator with a demo portal and the app registered at our URLs.
 *   The service then runs on the emulator's clock (leases, expiries, due times, the sweep's timer, the
 *   status page), so its clock buttons act on the service as they act on Bitrix24.
 *
 * One service per data folder (a lock file in it). Stops cleanly on SIGINT, SIGTERM and SIGHUP, and
 * when the process that started it (npm) goes away. See docs/OPERATIONS.md.
 */
import { createHash, randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { makeAppEvents } from '#functions/app-events.js';
import { makeDispatchRefreshes } from '#functions/dispatch-refreshes.js';
import { makeInstallPage } from '#functions/install-page.js';
import { makeOAuthCallback } from '#functions/oauth-callback.js';
import { makeOAuthStart } from '#functions/oauth-start.js';
import { makeProcessParkedEvents } from '#functions/process-parked-events.js';
import { makeRefreshWorker } from '#functions/refresh-worker.js';
import { makeTokenVendor } from '#functions/token-vendor.js';
import { PARKED_CLAIM_STREAM_FILTER } from '#shared/adapters/dynamodb/table-schema.js';
import { DynamoDbTokenRepository } from '#shared/adapters/dynamodb/token-repository.js';
import { collectPortalStatus } from '#shared/core/use-cases/portal-status.js';
import { statusPageHandlers } from '#shared/edge/status-page.js';
import { awsClientSettingsFromEnv } from '#shared/runtime/clients.js';
import { loadConfig } from '#shared/runtime/config.js';
import { wireDispatch } from '#shared/runtime/dispatch-wiring.js';
import { int, optionalText, optionalUrl, parseSettings, type SettingsOf, text } from '#shared/runtime/env-settings.js';
import { SERVICE_NAME } from '#shared/runtime/logger.js';
import { DISCARDED_METRICS } from '#shared/runtime/metrics.js';
import { wire } from '#shared/runtime/wiring.js';
import { ConsoleLogger } from './console-logger.js';
import { ensureTable } from './create-table.js';
import { docsRoutes } from './docs-routes.js';
import { startDynamoDbServer } from './dynamodb-server.js';
import { freePort, portIsFree } from './free-port.js';
import { localContext, type RouteTable, startLambdaHttpServer } from './lambda-http-server.js';
import { startLambdaInvokeServer } from './lambda-invoke-server.js';
import { startQueueEventSource } from './queue-event-source.js';
import { acquireRunLock, RunLockHeldError } from './run-lock.js';
import { schedule } from './schedule.js';
import { startSecretsManagerServer } from './secrets-manager-server.js';
import { removeServiceDescriptor, writeServiceDescriptor } from './service-descriptor.js';
import { startSqsServer } from './sqs-server.js';
import { startTableStream } from './table-stream.js';
import { TallyMetrics } from './tally-metrics.js';

/** The run command's own settings (the handlers' settings are `shared/runtime/config.ts`). */
const settingsSchema = {
  /** Port of the API routes; when taken, a free one is used (and printed). */
  PORT: int(3000),
  /** Where DynamoDB Local keeps its data and the CLI finds the running service. */
  LOCAL_DATA_DIR: text('.local-data'),
  /** How often the refresh dispatcher runs (EventBridge runs it every few minutes in AWS). */
  SWEEP_INTERVAL_SECONDS: int(60, 1),
  /** Refresh worker invocations at once (the event source mapping's maximum concurrency in AWS). */
  REFRESH_WORKERS: int(2, 1),
  /** How often parked install claims are retried. */
  PARKED_INTERVAL_SECONDS: int(30, 1),
  /** Port of the Bitrix24 emulator (0: a free one). */
  EMULATOR_PORT: int(0),
  /** Real Bitrix24 app: all three set → no emulator. */
  BITRIX_CLIENT_ID: optionalText(),
  BITRIX_CLIENT_SECRET: optionalText(),
  /** Public https URL of a tunnel to this port (Bitrix24 must reach the install and event handlers). */
  PUBLIC_BASE_URL: optionalUrl(),
} as const;
type Settings = SettingsOf<typeof settingsSchema>;

/** The token table's name locally. */
const TABLE_NAME = 'bitrix24-tokens';
/** The client-credentials secret's id in the local Secrets Manager. */
const SECRET_ID = 'local/bitrix24-client-credentials';
/** The refresh queue and its dead-letter queue in the local SQS stand-in. */
const REFRESH_QUEUE = 'bitrix24-refresh';
const REFRESH_DEAD_LETTERS = 'bitrix24-refresh-dead-letters';
/** The token vendor's function name on the local Lambda endpoint. */
const VENDOR_FUNCTION = 'bitrix24-token-vendor';

function log(line = ''): void {
  process.stdout.write(`${line}\n`);
}

async function choosePort(wanted: number): Promise<number> {
  if (wanted !== 0 && (await portIsFree(wanted))) return wanted;
  const port = await freePort();
  if (wanted !== 0) log(`port ${wanted} is taken: using ${port} (set PORT to choose)`);
  return port;
}

/** Signals that stop the service: Ctrl-C, process managers and IDE stop buttons, a closed terminal. */
const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** The data folder's lock, or an error that says who holds it and how to run a second service. */
function takeDataDir(dataDir: string) {
  try {
    return acquireRunLock(dataDir);
  } catch (error) {
    if (!(error instanceof RunLockHeldError)) throw error;
    const since = error.holder.startedAt > 0 ? `, started ${new Date(error.holder.startedAt).toLocaleString()}` : '';
    throw new Error(
      [
        `${dataDir} is in use by another npm start (pid ${error.holder.pid}${since}).`,
        `Stop that one (Ctrl-C in its terminal, or kill ${error.holder.pid}), or give this one its own data folder:`,
        '  LOCAL_DATA_DIR=.local-data-2 npm start',
        `(The lock is ${error.path}; it is taken over by itself once its process is gone.)`,
      ].join('\n'),
    );
  }
}

/** A scheduled function's handler, as EventBridge Scheduler invokes it. */
type ScheduledHandler = (event: unknown, context: Context) => Promise<unknown>;

/**
 * A run's summary as one line: `due 2, refreshed 1, failed 1 (invalid_grant 1), …` (durations left out).
 */
function summaryLine(summary: unknown): string {
  if (typeof summary !== 'object' || summary === null) return String(summary);
  const parts: string[] = [];
  for (const [key, value] of Object.entries(summary)) {
    if (key.endsWith('Ms')) continue;
    if (typeof value === 'number') parts.push(`${key} ${value}`);
    else if (typeof value === 'object' && value !== null && 'total' in value) {
      const detail = 'byCategory' in value && typeof value.byCategory === 'object' && value.byCategory !== null;
      const categories = detail
        ? Object.entries(value.byCategory as Record<string, number>).map(([name, n]) => `${name} ${n}`)
        : [];
      parts.push(`${key} ${String(value.total)}${categories.length > 0 ? ` (${categories.join(', ')})` : ''}`);
    } else if (value === true) parts.push(key);
  }
  return parts.join(', ');
}

/** Whether a run's summary counts anything (idle runs stay out of the console). */
function somethingHappened(summary: unknown): boolean {
  if (typeof summary === 'number') return summary > 0;
  if (typeof summary !== 'object' || summary === null) return false;
  return Object.entries(summary).some(([key, value]) => !key.endsWith('Ms') && somethingHappened(value));
}

async function main(): Promise<void> {
  const parsed = parseSettings(settingsSchema, process.env);
  if (!parsed.ok) throw new Error(`invalid settings: ${parsed.problems}`);
  const settings: Settings = parsed.value;
  const { BITRIX_CLIENT_ID: clientId, BITRIX_CLIENT_SECRET: clientSecret, PUBLIC_BASE_URL: publicBaseUrl } = settings;
  const realSettings = [clientId, clientSecret, publicBaseUrl].filter((value) => value !== undefined).length;
  if (realSettings !== 0 && realSettings !== 3) {
    // Half a configuration would silently run the emulator instead of the portal the user meant.
    throw new Error(
      'a real portal needs all of BITRIX_CLIENT_ID, BITRIX_CLIENT_SECRET and PUBLIC_BASE_URL (or none of them for the emulator)',
    );
  }
  const real =
    clientId !== undefined && clientSecret !== undefined && publicBaseUrl !== undefined
      ? { clientId, clientSecret, publicBaseUrl }
      : undefined;
  const dataDir = resolve(settings.LOCAL_DATA_DIR);
  // Before anything starts: a second service on this folder would share DynamoDB Local's files and
  // take the CLI's endpoint.json from the first.
  const lock = takeDataDir(dataDir);
  process.once('exit', () => lock.release());

  // Everything started is stopped in reverse order, on a signal or when a later step fails.
  const stops: (() => Promise<void>)[] = [];
  let stopping: Promise<void> | undefined;
  const stopAll = () => {
    stopping ??= (async () => {
      removeServiceDescriptor(dataDir);
      for (const stop of stops.reverse()) {
        try {
          await stop();
        } catch (error) {
          log(`while stopping: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      lock.release();
    })();
    return stopping;
  };
  const onSignal = (reason: string) => {
    // Registered once per signal: a second Ctrl-C gets Node's default and ends the process at once.
    log(`\n${reason}: stopping… (Ctrl-C again to force)`);
    void stopAll().then(() => {
      log('stopped.');
      process.exit(0);
    });
  };
  for (const signal of STOP_SIGNALS) process.once(signal, onSignal);
  // npm passes SIGINT and SIGTERM on to us, but dies of a SIGHUP without passing it on: the parent
  // going away (we are re-parented) is then the only sign, so it stops us too.
  const parent = process.ppid;
  const orphanWatch = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(orphanWatch);
    onSignal(`parent process ${parent} exited`);
  }, 500);
  orphanWatch.unref();

  try {
    const ddb = await startDynamoDbServer({ dataDir: join(dataDir, 'dynamodb') });
    stops.push(ddb.stop);
    const region = process.env.AWS_REGION ?? 'us-east-1';
    // DynamoDB Local runs with -sharedDb: any credentials reach the same data.
    const awsEnv = { AWS_REGION: region, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' };
    const admin = new DynamoDBClient({
      endpoint: ddb.endpoint,
      region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    await ensureTable(admin, TABLE_NAME);
    const earlierDemo = await new DynamoDbTokenRepository({ client: admin, tableName: TABLE_NAME }).getInstallation(
      DEMO_MEMBER_ID,
    );
    admin.destroy();

    const port = await choosePort(settings.PORT);
    const localUrl = `http://127.0.0.1:${port}`;
    const serviceUrl = real?.publicBaseUrl.replace(/\/+$/, '') ?? localUrl;

    const demo =
      real === undefined
        ? await startDemo(localUrl, settings.EMULATOR_PORT, earlierDemo?.status === 'active')
        : undefined;
    if (demo !== undefined) stops.push(demo.stop);
    const credentials = real ?? demo?.credentials;
    if (credentials === undefined) throw new Error('no client credentials');
    const secrets = await startSecretsManagerServer({
      [SECRET_ID]: JSON.stringify({ clientId: credentials.clientId, clientSecret: credentials.clientSecret }),
    });
    stops.push(secrets.stop);
    // As deployed: five failed deliveries move a message to the dead letters (the key stays due).
    const sqs = await startSqsServer({
      [REFRESH_QUEUE]: { visibilityTimeoutMs: 60_000, maxReceiveCount: 5, deadLetterQueue: REFRESH_DEAD_LETTERS },
      [REFRESH_DEAD_LETTERS]: {},
    });
    stops.push(sqs.stop);

    // What the handlers would read from a Lambda's environment; also what `npm run ops` reads from the
    // descriptor to reach this service's store.
    const handlerEnv: Record<string, string> = {
      ...awsEnv,
      AWS_ENDPOINT_URL_DYNAMODB: ddb.endpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
      AWS_ENDPOINT_URL_SQS: sqs.endpoint,
      REFRESH_QUEUE_URL: sqs.queueUrl(REFRESH_QUEUE),
      REFRESH_DISPATCH_INTERVAL_SECONDS: String(settings.SWEEP_INTERVAL_SECONDS),
      TABLE_NAME,
      CLIENT_CREDENTIALS_SECRET_ID: SECRET_ID,
      // Browsers keep Secure cookies on http only for localhost; a tunnel is https.
      OAUTH_COOKIE_SECURE: serviceUrl.startsWith('https://') ? 'auto' : 'false',
      // The browser reaches the demo portal through the emulator, and so does its BX24.js.
      ...(demo === undefined
        ? {}
        : { BITRIX_URL_REWRITES: JSON.stringify(demo.urlRewrites), BX24_LIBRARY_URL: demo.bx24LibraryUrl }),
    };
    // One readable line per entry for the person at the terminal; refused requests are summarised.
    const logger = new ConsoleLogger({
      write: log,
      serviceName: SERVICE_NAME,
      logLevel: process.env.POWERTOOLS_LOG_LEVEL === undefined ? 'WARN' : undefined,
    });
    stops.push(async () => logger.flushSummary());
    // With the emulator, its clock is the service's: "+1 hour" there expires our access tokens too.
    const clock = demo?.clock ?? Date.now;
    const config = loadConfig({ ...process.env, ...handlerEnv });
    const wiring = wire(config, {
      clock,
      aws: awsClientSettingsFromEnv(handlerEnv),
      logger,
      metrics: DISCARDED_METRICS,
    });
    // The workers run as a function of their own, as deployed; their metrics become the console's lines.
    const workerTally = new TallyMetrics();
    const workerWiring = wire(config, {
      clock,
      aws: awsClientSettingsFromEnv(handlerEnv),
      logger,
      metrics: workerTally,
    });
    const installPage = makeInstallPage(wiring);
    const statusPage = statusPageHandlers((statuses) =>
      collectPortalStatus({ listing: wiring.listing, now: wiring.clock }, { statuses }),
    );
    const routes: RouteTable = {
      'GET /oauth/start': makeOAuthStart(wiring),
      'GET /oauth/callback': makeOAuthCallback(wiring),
      'POST /bitrix/events': makeAppEvents(wiring),
      'GET /bitrix/install': installPage,
      'POST /bitrix/install': installPage,
      'GET /status': statusPage.html,
      'GET /status.json': statusPage.json,
      'GET /': async () => ({ statusCode: 302, headers: { Location: '/status' }, body: '' }),
      ...docsRoutes(),
    };
    const server = await startLambdaHttpServer(routes, { port });
    stops.push(server.stop);
    const lambda = await startLambdaInvokeServer({ functions: { [VENDOR_FUNCTION]: makeTokenVendor(wiring) } });
    stops.push(lambda.stop);
    // What a consumer process needs to use this service: the consumer package reads these.
    const consumerEnv: Record<string, string> = {
      ...awsEnv,
      AWS_ENDPOINT_URL_DYNAMODB: ddb.endpoint,
      AWS_ENDPOINT_URL_LAMBDA: lambda.endpoint,
      BITRIX24_TOKEN_TABLE: TABLE_NAME,
      BITRIX24_TOKEN_VENDOR: VENDOR_FUNCTION,
      ...(demo === undefined ? {} : { BITRIX_URL_REWRITES: JSON.stringify(demo.urlRewrites) }),
    };

    const processParkedEvents = makeProcessParkedEvents(wiring);
    const scheduled: [string, number, ScheduledHandler][] = [
      [
        'dispatch-refreshes',
        settings.SWEEP_INTERVAL_SECONDS,
        makeDispatchRefreshes(
          wireDispatch(config, {
            clock,
            aws: awsClientSettingsFromEnv(handlerEnv),
            logger,
            metrics: DISCARDED_METRICS,
          }),
        ),
      ],
      ['process-parked-events', settings.PARKED_INTERVAL_SECONDS, processParkedEvents],
    ];
    for (const [name, everySeconds, handler] of scheduled) {
      const everyMs = everySeconds * 1000;
      const timer = schedule(() => handler(scheduledEvent(clock), localContext(name, Math.min(everyMs, 5 * 60_000))), {
        everyMs,
        clock,
        onResult: (result) => {
          if (somethingHappened(result)) log(`[${name}] ${summaryLine(result)}`);
        },
        onError: (error) => log(`[${name}] failed: ${error instanceof Error ? error.message : String(error)}`),
      });
      stops.push(timer.stop);
    }
    // As the deployed SQS event source mapping does: batches of the refresh queue reach the workers.
    const refreshWorker = makeRefreshWorker(workerWiring);
    const queueClient = new SQSClient({
      endpoint: sqs.endpoint,
      region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    stops.push(async () => queueClient.destroy());
    const workers = startQueueEventSource({
      client: queueClient,
      queueUrl: sqs.queueUrl(REFRESH_QUEUE),
      handler: async (event, context) => {
        const answer = await refreshWorker(event, context);
        const tally = workerTally.take();
        if (somethingHappened(tally)) log(`[refresh-worker] ${summaryLine(tally)}`);
        return answer;
      },
      context: () => localContext('refresh-worker', 60_000),
      maxConcurrency: settings.REFRESH_WORKERS,
      onError: (error) => log(`[refresh-worker] failed: ${error instanceof Error ? error.message : String(error)}`),
    });
    stops.push(workers.stop);
    // As the deployed event source mapping does: newly parked install claims reach the function from
    // the table's stream within a moment.
    const stream = await startTableStream({
      endpoint: ddb.endpoint,
      tableName: TABLE_NAME,
      filter: PARKED_CLAIM_STREAM_FILTER,
      handle: (event) => processParkedEvents(event, localContext('process-parked-events', 60_000)),
      onError: (error) => log(`table stream: ${error instanceof Error ? error.message : String(error)}`),
    });
    stops.push(stream.stop);

    writeServiceDescriptor(dataDir, {
      pid: process.pid,
      serviceUrl: localUrl,
      statusUrl: `${localUrl}/status`,
      emulatorUrl: demo?.url,
      env: handlerEnv,
      consumerEnv,
    });
    printBanner({ localUrl, serviceUrl, dataDir, demo, settings, vendorUrl: lambda.endpoint });
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** The event EventBridge Scheduler hands a scheduled function, at the service's time. */
function scheduledEvent(clock: () => number) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.scheduler',
    account: '000000000000',
    time: new Date(clock()).toISOString(),
    region: process.env.AWS_REGION ?? 'us-east-1',
    resources: ['arn:aws:scheduler:local:000000000000:schedule/default/local'],
    detail: {},
  };
}

interface Demo {
  readonly url: string;
  readonly controlUrl: string;
  readonly portal: string;
  readonly credentials: { readonly clientId: string; readonly clientSecret: string };
  readonly urlRewrites: Record<string, string>;
  readonly bx24LibraryUrl: string;
  /** The emulator's clock, which the service runs on. */
  readonly clock: () => number;
  /** The demo portal was installed in an earlier run (whose tokens the emulator has forgotten). */
  readonly restarted: boolean;
  stop(): Promise<void>;
}

/** The demo portal's host (the emulator answers for it; nothing leaves this machine). */
const DEMO_PORTAL = 'demo.bitrix24.com';
/** Fixed, so a restart finds the demo portal's rows again. */
const DEMO_MEMBER_ID = createHash('md5').update(DEMO_PORTAL).digest('hex');

/**
 * The Bitrix24 emulator with a demo portal and our app registered at our local URLs. The app's
 * credentials are the emulator's fixed defaults, so tokens stored by an earlier run stay ours.
 */
async function startDemo(localUrl: string, port: number, alreadyInstalled: boolean): Promise<Demo> {
  const { DEFAULT_APP, startBitrixEmulator } = await import('./emulator/index.js');
  const emulator = await startBitrixEmulator({
    port,
    app: {
      ...DEFAULT_APP,
      redirectUri: `${localUrl}/oauth/callback`,
      eventHandlerUrl: `${localUrl}/bitrix/events`,
      installUrl: `${localUrl}/bitrix/install`,
      authorizeStartUrl: `${localUrl}/oauth/start?portal={domain}`,
    },
    // The table remembers an install from an earlier run; the emulator starts empty, so it is told.
    portals: [{ domain: DEMO_PORTAL, memberId: DEMO_MEMBER_ID, region: 'west', installed: alreadyInstalled }],
    links: [
      { label: 'Status page of the service →', url: `${localUrl}/status` },
      { label: 'The service’s operator docs', url: `${localUrl}/docs/OPERATIONS.md` },
    ],
  });
  return {
    url: emulator.baseUrl,
    controlUrl: `${emulator.baseUrl}/`,
    portal: DEMO_PORTAL,
    credentials: { clientId: DEFAULT_APP.clientId, clientSecret: DEFAULT_APP.clientSecret },
    urlRewrites: { ...emulator.urlRewrites },
    bx24LibraryUrl: emulator.bx24LibraryUrl,
    clock: () => emulator.clock.now(),
    restarted: alreadyInstalled,
    stop: () => emulator.stop(),
  };
}

function printBanner(input: {
  localUrl: string;
  serviceUrl: string;
  dataDir: string;
  demo: Demo | undefined;
  settings: Settings;
  vendorUrl: string;
}): void {
  const { localUrl, serviceUrl, demo } = input;
  log('');
  log('bitrix24-token-service is running');
  log('');
  log(`  status page         ${localUrl}/status`);
  if (demo !== undefined) {
    log(`  Bitrix24 emulator   ${demo.controlUrl}   (demo portal ${demo.portal})`);
    log(`  authorize the demo  ${localUrl}/oauth/start?portal=${demo.portal}`);
  } else {
    log(`  public URL          ${serviceUrl}   (tunnel to ${localUrl})`);
    log(`  connect a portal    ${serviceUrl}/oauth/start?portal=<your-portal>.bitrix24.com`);
    log('  in the app settings of Bitrix24:');
    log(`    install / handler path   ${serviceUrl}/bitrix/install`);
    log(`    event handler (install)  ${serviceUrl}/bitrix/events`);
    log(`    redirect URI             ${serviceUrl}/oauth/callback`);
  }
  log(`  API                 ${serviceUrl}/oauth/start, /oauth/callback, /bitrix/install, /bitrix/events`);
  log(`  token vendor        ${input.vendorUrl}   (Lambda Invoke of ${VENDOR_FUNCTION})`);
  log(`  data                ${input.dataDir}`);
  log('');
  log('What to try:');
  const every = `every ${input.settings.SWEEP_INTERVAL_SECONDS} s`;
  if (demo !== undefined) {
    log('  1. Open the emulator page and click "Install" on the demo portal: the install event stores tokens.');
    log('  2. Open the status page: the demo portal shows "active", its access-token countdown and its timeline.');
    log(
      '  3. Click "Open app in browser" (the app in the portal\'s frame) or the authorize link: each starts a new chain.',
    );
    log('  4. Click "+1 hour": the service runs on the emulator\'s clock, so the sweep refreshes the expired token at');
    log(
      '     once. "+31 days" (a month without sweeps) ends in reauth_required; "Open app in browser" brings it back.',
    );
    log(`  5. npm run ops -- list | show <memberId> | refresh <memberId> | sweep   (the sweep also runs ${every})`);
  } else {
    log('  1. Install the app on your portal: Bitrix24 calls the install and event handlers through your tunnel.');
    log('  2. Open the status page to see its tokens.');
    log(`  3. npm run ops -- list | show <memberId> | refresh <memberId> | sweep   (the sweep also runs ${every})`);
  }
  log(
    `  4. npm run ops -- list | show <memberId> | refresh <memberId> | sweep   (the sweep also runs every ${input.settings.SWEEP_INTERVAL_SECONDS} s)`,
  );
  log(
    `  5. Run a consumer against it with the variables under "consumerEnv" in ${join(input.dataDir, 'endpoint.json')}`,
  );
  if (demo?.restarted === true) {
    log('');
    log(`Note: ${demo.portal} was installed in an earlier run. The emulator keeps its tokens in memory only, so the`);
    log('stored chain is unknown to it now: its next refresh ends in reauth_required. Click "Open app in browser"');
    log('on the emulator page to give it a new chain: the same recovery a real portal needs (docs/OPERATIONS.md).');
  }
  log('');
  log('Ctrl-C stops everything.');
}

main().catch((error: unknown) => {
  process.stderr.write(`npm start failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
