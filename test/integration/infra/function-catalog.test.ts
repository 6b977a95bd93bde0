import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAppEvents } from '#functions/app-events.js';
import { makeDispatchRefreshes } from '#functions/dispatch-refreshes.js';
import { makeInstallPage } from '#functions/install-page.js';
import { makeOAuthCallback } from '#functions/oauth-callback.js';
import { makeOAuthStart } from '#functions/oauth-start.js';
import { makeProcessParkedEvents } from '#functions/process-parked-events.js';
import { makeRefreshWorker } from '#functions/refresh-worker.js';
import { makeTokenVendor } from '#functions/token-vendor.js';
import {
  DUE_ENTRY_KEYS,
  ITEM_FAMILY_KEYS,
  type ItemFamily,
  type TableAccess,
  type TableAction,
} from '#infra/constructs/token-table.js';
import { FUNCTIONS, type FunctionName } from '#infra/function-catalog.js';
import { type LambdaHttpServer, localContext, startLambdaHttpServer } from '#local/lambda-http-server.js';
import { startQueueEventSource } from '#local/queue-event-source.js';
import { type SqsServer, startSqsServer } from '#local/sqs-server.js';
import { noParkedClaimDue, startTableStream, type TableStream } from '#local/table-stream.js';
import { PARKED_CLAIM_STREAM_FILTER } from '#shared/adapters/dynamodb/table-schema.js';
import { DAY } from '#shared/core/domain/time.js';
import { type AwsClients, awsClientSettingsFromEnv, createAwsClients } from '#shared/runtime/clients.js';
import { wireDispatch } from '#shared/runtime/dispatch-wiring.js';
import type { Wiring } from '#shared/runtime/wiring.js';
import { type DeployedEnv, startDeployedEnv } from '#test/helpers/harnesses/deployed-env.js';

/**
 * The table grants of infra/function-catalog.ts against what the functions really do: each function,
 * wired as deployed, runs its flows against DynamoDB Local through a client that records every
 * request's action, index and partition keys (DynamoDB Local does not check IAM); each request must be
 * one the function's IAM statements allow, evaluated as IAM evaluates `ForAllValues:StringLike` on
 * `dynamodb:LeadingKeys`. A use case that starts touching another item family or action fails here.
 */
const CLIENT = { clientId: 'local.tableaccess.12345678', clientSecret: 'TableAccessSecret0123456789abcdefghijkl' };

interface TableRequest {
  readonly action: string;
  readonly index?: string | undefined;
  readonly leadingKeys: readonly string[];
}

const ACTIONS: Readonly<Record<string, TableAction>> = {
  GetItemCommand: 'GetItem',
  GetCommand: 'GetItem',
  QueryCommand: 'Query',
  PutItemCommand: 'PutItem',
  PutCommand: 'PutItem',
  UpdateItemCommand: 'UpdateItem',
  UpdateCommand: 'UpdateItem',
  DeleteItemCommand: 'DeleteItem',
  DeleteCommand: 'DeleteItem',
  BatchWriteItemCommand: 'BatchWriteItem',
  BatchWriteCommand: 'BatchWriteItem',
};

/** The action IAM checks for each item of a transaction. */
const TRANSACTION_ITEM_ACTIONS: Readonly<Record<string, TableAction>> = {
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  ConditionCheck: 'ConditionCheckItem',
};

/** A key attribute, marshalled (`{ S: … }`) or not. */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && 'S' in value && typeof value.S === 'string') return value.S;
  return String(value);
}

function requestsOf(commandName: string, input: Record<string, unknown>): TableRequest[] {
  const record = (value: unknown) => (value ?? {}) as Record<string, unknown>;
  if (commandName === 'TransactWriteCommand' || commandName === 'TransactWriteItemsCommand') {
    // IAM authorizes a transaction item by item, each with its own action.
    return (input.TransactItems as Record<string, Record<string, unknown>>[]).flatMap((item) =>
      Object.entries(item).map(([kind, body]) => ({
        action: TRANSACTION_ITEM_ACTIONS[kind] ?? kind,
        leadingKeys: [text(record(body.Key ?? body.Item).pk)],
      })),
    );
  }
  return [requestOf(commandName, input)];
}

function requestOf(commandName: string, input: Record<string, unknown>): TableRequest {
  const action = ACTIONS[commandName] ?? commandName;
  const record = (value: unknown) => (value ?? {}) as Record<string, unknown>;
  switch (action) {
    case 'GetItem':
    case 'UpdateItem':
    case 'DeleteItem':
      return { action, leadingKeys: [text(record(input.Key).pk)] };
    case 'PutItem':
      return { action, leadingKeys: [text(record(input.Item).pk)] };
    case 'Query': {
      // The partition key is the value compared with `=` in the key condition.
      const placeholder = /=\s*(:\w+)/.exec(String(input.KeyConditionExpression))?.[1] ?? '';
      const value = record(input.ExpressionAttributeValues)[placeholder];
      return { action, index: input.IndexName as string | undefined, leadingKeys: [text(value)] };
    }
    case 'BatchWriteItem': {
      const writes = Object.values(record(input.RequestItems)).flat() as Record<string, Record<string, unknown>>[];
      return {
        action,
        leadingKeys: writes.map((w) => text(record(w.DeleteRequest?.Key ?? w.PutRequest?.Item).pk)),
      };
    }
    default:
      return { action, leadingKeys: [] };
  }
}

/** Records every request `client` sends (the document client shares its middleware stack). */
function record(client: DynamoDBClient): TableRequest[] {
  const requests: TableRequest[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      requests.push(...requestsOf(String(context.commandName), args.input as Record<string, unknown>));
      return next(args);
    },
    { step: 'initialize', name: 'recordTableAccess' },
  );
  return requests;
}

const matches = (pattern: string, key: string) => key.startsWith(pattern.replace(/\*$/, ''));

/** Whether one of the function's statements allows the request (every leading key must match it). */
function allowed(request: TableRequest, access: TableAccess): boolean {
  if (request.index !== undefined) {
    const pattern = access.dueIndex === undefined ? undefined : DUE_ENTRY_KEYS[access.dueIndex];
    return request.action === 'Query' && pattern !== undefined && request.leadingKeys.every((k) => matches(pattern, k));
  }
  return (Object.entries(access.items) as [ItemFamily, readonly TableAction[]][]).some(
    ([family, actions]) =>
      actions.includes(request.action as TableAction) &&
      request.leadingKeys.length > 0 &&
      request.leadingKeys.every((key) => matches(ITEM_FAMILY_KEYS[family], key)),
  );
}

let deployed: DeployedEnv;
let api: LambdaHttpServer;
let stream: TableStream | undefined;
let sqs: SqsServer;
let dispatcherClients: AwsClients;
/** The service's own functions; consumers read through their own grant (test/infra/stack.test.ts). */
type ServiceFunction = Exclude<FunctionName, 'exampleConsumer'>;
const SERVICE_FUNCTIONS = (Object.keys(FUNCTIONS) as FunctionName[]).filter(
  (name): name is ServiceFunction => FUNCTIONS[name].tokens !== 'consumer',
);
function tableAccessOf(name: ServiceFunction): TableAccess {
  return FUNCTIONS[name].tokens;
}
const requests = {} as Record<ServiceFunction, TableRequest[]>;
const wirings = {} as Record<ServiceFunction, Wiring>;

beforeAll(async () => {
  sqs = await startSqsServer({ refresh: {} });
  deployed = await startDeployedEnv({
    tableName: 'function-catalog',
    secretId: 'table-access-app',
    client: CLIENT,
    env: {
      PARKED_RETRY_BASE_SECONDS: '1',
      AWS_ENDPOINT_URL_SQS: sqs.endpoint,
      REFRESH_QUEUE_URL: sqs.queueUrl('refresh'),
    },
  });
  for (const name of SERVICE_FUNCTIONS) {
    const clients = createAwsClients(awsClientSettingsFromEnv({ ...process.env, ...deployed.env }));
    requests[name] = record(clients.dynamoDb);
    if (name === 'dispatchRefreshes') dispatcherClients = clients;
    // The sweep (dispatcher and workers) runs two days ahead, so every stored chain is due.
    const sweeping = name === 'dispatchRefreshes' || name === 'refreshWorker';
    wirings[name] = deployed.wiring({ clients, ...(sweeping ? { clock: () => Date.now() + 2 * DAY } : {}) });
  }
  const installPage = makeInstallPage(wirings.installPage);
  api = await startLambdaHttpServer({
    'GET /oauth/start': makeOAuthStart(wirings.oauthStart),
    'GET /oauth/callback': makeOAuthCallback(wirings.oauthCallback),
    'POST /bitrix/events': makeAppEvents(wirings.appEvents),
    'GET /bitrix/install': installPage,
    'POST /bitrix/install': installPage,
  });
  deployed.emulator.updateApp({
    redirectUri: `${api.url}/oauth/callback`,
    eventHandlerUrl: `${api.url}/bitrix/events`,
    installUrl: `${api.url}/bitrix/install`,
  });
  // The event source mapping on the table stream: parked claims reach process-parked-events.
  const processParked = makeProcessParkedEvents(wirings.processParkedEvents);
  stream = await startTableStream({
    endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB ?? '',
    tableName: deployed.table.tableName,
    filter: PARKED_CLAIM_STREAM_FILTER,
    handle: (event) => processParked(event, localContext('process-parked-events', 60_000)),
  });
});
afterAll(async () => {
  await stream?.stop();
  await api?.stop();
  await deployed?.stop();
  await sqs?.stop();
});

describe('table grants of the function catalog, against the functions at work', () => {
  it('allow every request each function makes in its flows, and each function makes some', async () => {
    // Prepare
    const { emulator } = deployed;
    const connected = emulator.addPortal({ domain: 'grants-oauth.bitrix24.com', region: 'west', installed: true });
    const installed = emulator.addPortal({ domain: 'grants-install.bitrix24.com', region: 'west' });
    const clean = emulator.addPortal({ domain: 'grants-clean.bitrix24.de', region: 'west' });
    const parked = emulator.addPortal({ domain: 'grants-parked.bitrix24.ru', region: 'east' });

    // Act: the OAuth code flow, a reload, a refused address
    const start = await fetch(`${api.url}/oauth/start?portal=${connected.domain}`, { redirect: 'manual' });
    const cookie = start.headers.getSetCookie()[0]?.split(';')[0] ?? '';
    const consent = await fetch(start.headers.get('location') ?? '', { redirect: 'manual' });
    const callbackUrl = consent.headers.get('location') ?? '';
    const statuses = [start.status, consent.status];
    for (let i = 0; i < 2; i += 1) {
      statuses.push((await fetch(callbackUrl, { redirect: 'manual', headers: { cookie } })).status);
    }
    statuses.push((await fetch(`${api.url}/oauth/start?portal=evil.example`)).status);
    // Install events (parked, finished from the stream), an update, the install frame, uninstalls with
    // and without CLEAN
    const settle = () =>
      stream?.drain(() => noParkedClaimDue(wirings.processParkedEvents.lifecycle.parked, Date.now()));
    statuses.push((await emulator.install(installed)).status);
    await settle();
    statuses.push((await emulator.update(installed)).status);
    await settle();
    statuses.push((await emulator.openApp(installed)).status);
    statuses.push((await emulator.install(clean)).status);
    await settle();
    statuses.push((await emulator.openApp(clean)).status);
    statuses.push((await emulator.uninstall(clean, { clean: true })).status);
    // An uninstall claim for the portal connected by the code flow (no application token stored), which
    // the authorization server disproves by refreshing its tokens
    statuses.push(
      (
        await emulator.sendEvent(connected, 'ONAPPUNINSTALL', {
          tokens: 'none',
          auth: { application_token: 'b'.repeat(32) },
        })
      ).status,
    );
    // A claim parked while the authorization server is down, finished by the scheduled function
    emulator.faults.set('token', { failNext: 1000, failStatus: 503 });
    statuses.push((await emulator.install(parked)).status);
    await settle();
    emulator.faults.clear('token');
    await new Promise((resolve) => setTimeout(resolve, 1300));
    await makeProcessParkedEvents(wirings.processParkedEvents)(
      undefined,
      localContext('process-parked-events', 60_000),
    );
    // The sweep refreshes every stored chain (dispatched to the queue, refreshed by the workers); then an
    // uninstall without CLEAN
    const dispatcher = wireDispatch(wirings.dispatchRefreshes.config, {
      clients: dispatcherClients,
      clock: wirings.dispatchRefreshes.clock,
      aws: awsClientSettingsFromEnv({ ...process.env, ...deployed.env }),
    });
    const dispatched = await makeDispatchRefreshes(dispatcher)(
      { source: 'aws.scheduler' },
      localContext('dispatch-refreshes', 60_000),
    );
    const worker = makeRefreshWorker(wirings.refreshWorker);
    const answers: SQSBatchResponse[] = [];
    const queueClient = new SQSClient({
      endpoint: sqs.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
    });
    const workers = startQueueEventSource({
      client: queueClient,
      queueUrl: sqs.queueUrl('refresh'),
      handler: async (event, context) => {
        const answer = await worker(event, context);
        answers.push(answer);
        return answer;
      },
      context: () => localContext('refresh-worker', 60_000),
    });
    while (sqs.depth('refresh') > 0) await new Promise((resolve) => setTimeout(resolve, 50));
    await workers.stop();
    queueClient.destroy();
    statuses.push((await emulator.uninstall(installed, { clean: false })).status);
    // A consumer asks the token vendor for a token valid half an hour longer than the stored one
    const vended = await makeTokenVendor(wirings.tokenVendor)(
      { v: 1, action: 'getAccessToken', memberId: parked.memberId, userId: 1, minValiditySeconds: 1800 },
      localContext('token-vendor', 60_000),
    );

    // Assess: the flows did what they should
    expect(statuses).toEqual([302, 302, 200, 400, 400, 202, 202, 200, 202, 200, 200, 403, 202, 200]);
    expect(vended).toMatchObject({ v: 1, memberId: parked.memberId, userId: 1 });
    expect((dispatched as { enqueued: number }).enqueued).toBeGreaterThanOrEqual(2);
    expect(answers.flatMap((a) => a.batchItemFailures)).toEqual([]);
    // Assess: every request was allowed by the function's grant
    for (const name of SERVICE_FUNCTIONS) {
      const access = tableAccessOf(name);
      expect(requests[name].length, name).toBeGreaterThan(0);
      expect(
        requests[name].filter((request) => !allowed(request, access)),
        `${name} made requests its grant does not allow`,
      ).toEqual([]);
    }
    // Assess: the grants are not wider than the flows; what these flows do not reach is named with its reason
    const unused: Record<ServiceFunction, string[]> = {
      oauthStart: [],
      oauthCallback: [],
      // cancelling the parked claims of an uninstall without CLEAN; the uninstall proof's recovery item
      // of a refreshed pair whose write failed, and whether our credentials were accepted since an
      // invalid_client
      appEvents: ['portal:ConditionCheckItem', 'lifecycle:DeleteItem', 'app:GetItem'],
      // deleting a chain again that an uninstall raced (deleteTokenSets); whether our credentials were
      // accepted since a claim was refused with invalid_client
      installPage: ['portal:Query', 'portal:DeleteItem', 'app:GetItem'],
      processParkedEvents: ['portal:Query', 'portal:DeleteItem', 'app:GetItem'],
      // reads the due index only
      dispatchRefreshes: [],
      // the recovery item of a refreshed pair whose write failed (a put checked against its token set;
      // the history item's put is used); whether our credentials were accepted since an invalid_client
      refreshWorker: ['portal:DeleteItem', 'portal:ConditionCheckItem', 'app:GetItem'],
      // the consumer library's refresh path, recovery items and portal renames (test/integration/consumer)
      // a token set without a user named (the default-user lookup); recovery items; use records and
      // portal moves; whether our credentials were accepted since an invalid_client
      tokenVendor: ['portal:Query', 'portal:PutItem', 'portal:DeleteItem', 'portal:ConditionCheckItem', 'app:GetItem'],
    };
    for (const name of SERVICE_FUNCTIONS) {
      const access = tableAccessOf(name);
      const familyOf = (key: string) =>
        (Object.keys(ITEM_FAMILY_KEYS) as ItemFamily[]).find((family) => matches(ITEM_FAMILY_KEYS[family], key));
      const used = new Set(
        requests[name]
          .filter((r) => r.index === undefined)
          .map((r) => `${familyOf(r.leadingKeys[0] ?? '')}:${r.action}`),
      );
      const granted = (Object.entries(access.items) as [ItemFamily, readonly TableAction[]][]).flatMap(
        ([family, actions]) => actions.map((action) => `${family}:${action}`),
      );
      expect(
        granted.filter((grant) => !used.has(grant)),
        `${name}: granted but not used by these flows`,
      ).toEqual(unused[name]);
      if (access.dueIndex !== undefined)
        expect(
          requests[name].some((r) => r.index !== undefined),
          name,
        ).toBe(true);
    }
  }, 120_000);
});
