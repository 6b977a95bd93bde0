import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDispatchRefreshes } from '#functions/dispatch-refreshes.js';
import { makeRefreshWorker } from '#functions/refresh-worker.js';
import { type BitrixEmulator, startBitrixEmulator } from '#local/emulator/index.js';
import { type EventBridgeServer, startEventBridgeServer } from '#local/eventbridge-server.js';
import { localContext } from '#local/lambda-http-server.js';
import { startQueueEventSource } from '#local/queue-event-source.js';
import { type SecretsManagerServer, startSecretsManagerServer } from '#local/secrets-manager-server.js';
import { type SqsServer, startSqsServer } from '#local/sqs-server.js';
import { DynamoDbTokenRepository } from '#shared/adapters/dynamodb/token-repository.js';
import {
  EventBridgeNotificationPublisher,
  NOTIFICATION_SOURCE,
  TOKEN_STATUS_DETAIL_TYPE,
} from '#shared/adapters/eventbridge-notification-publisher.js';
import { SqsRefreshQueue } from '#shared/adapters/sqs/refresh-queue.js';
import { dueShardOf } from '#shared/core/domain/due-shard.js';
import { encodeRefreshMessage } from '#shared/core/domain/refresh-message.js';
import { DAY, HOUR } from '#shared/core/domain/time.js';
import type { TokenStatusChange } from '#shared/core/ports/notification-publisher.js';
import type { DispatchSummary } from '#shared/core/use-cases/dispatch-due-tokens.js';
import { awsClientSettingsFromEnv } from '#shared/runtime/clients.js';
import { loadConfig } from '#shared/runtime/config.js';
import { wireDispatch } from '#shared/runtime/dispatch-wiring.js';
import { wire } from '#shared/runtime/wiring.js';
import { powertoolsLogger } from '#test/helpers/builders/loggers.js';
import { issuedFromEmulator } from '#test/helpers/harnesses/refresh.js';
import { createTestTable, type TestTable } from '#test/helpers/harnesses/table.js';
import { until } from '#test/helpers/vitest/until.js';

let emulator: BitrixEmulator;
let table: TestTable;
let secrets: SecretsManagerServer;
let bus: EventBridgeServer;
let sqs: SqsServer;
let queueClient: SQSClient;
let env: Record<string, string>;
let queueNumber = 0;

beforeAll(async () => {
  // Real time on both sides: the handlers judge due times with Date.now, as in Lambda.
  emulator = await startBitrixEmulator();
  table = await createTestTable('refresh-fn');
  const app = emulator.app();
  secrets = await startSecretsManagerServer({
    creds: JSON.stringify({ clientId: app.clientId, clientSecret: app.clientSecret }),
  });
  bus = await startEventBridgeServer();
  const queues: Record<string, { visibilityTimeoutMs?: number; maxReceiveCount?: number; deadLetterQueue?: string }> =
    {};
  // A visibility timeout longer than any refresh here, as the deployed one is (six worker timeouts);
  // queues whose name says `short` hand a failed message back within 200 ms.
  for (let i = 1; i <= 8; i += 1) {
    queues[`refresh-${i}`] = { visibilityTimeoutMs: 30_000, maxReceiveCount: 3, deadLetterQueue: `dead-${i}` };
    queues[`refresh-short-${i}`] = { visibilityTimeoutMs: 200, maxReceiveCount: 3, deadLetterQueue: `dead-${i}` };
    queues[`dead-${i}`] = {};
  }
  sqs = await startSqsServer(queues);
  queueClient = new SQSClient({
    endpoint: sqs.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'l', secretAccessKey: 'l' },
  });
  // The function environment CDK sets for the dispatcher and the workers.
  env = {
    TABLE_NAME: table.tableName,
    BITRIX_URL_REWRITES: JSON.stringify(emulator.urlRewrites),
    CLIENT_CREDENTIALS_SECRET_ID: 'creds',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_ENDPOINT_URL_EVENTBRIDGE: bus.endpoint,
    AWS_ENDPOINT_URL_SQS: sqs.endpoint,
    EVENT_BUS_NAME: 'token-events',
  };
});
afterAll(async () => {
  queueClient.destroy();
  await sqs.stop();
  await bus.stop();
  await secrets.stop();
  await emulator.stop();
  await table.drop();
});

/** A portal with a stored chain whose due time is `dueAt`. */
async function seed(repository: DynamoDbTokenRepository, domain: string, dueAt: number) {
  const portal = emulator.addPortal({ domain, region: 'west', installed: true });
  const tokens = emulator.issueTokens(portal);
  const now = Date.now();
  const issued = issuedFromEmulator(tokens, portal, now, 'crm');
  await repository.storeNewChain(
    { ...issued, source: 'install_event', refreshExpiresAt: now + 30 * DAY, nextRefreshAt: dueAt, now },
    null,
  );
  return { portal, issued };
}

/** A queue of its own for one test, and the production wiring of both functions around it. */
function fanOut(extraEnv: Record<string, string> = {}, options: { shortVisibility?: boolean } = {}) {
  queueNumber += 1;
  const name = options.shortVisibility === true ? `refresh-short-${queueNumber}` : `refresh-${queueNumber}`;
  const functionEnv = { ...env, REFRESH_QUEUE_URL: sqs.queueUrl(name), ...extraEnv };
  const wiring = { aws: awsClientSettingsFromEnv({ ...process.env, ...functionEnv }), logger: powertoolsLogger() };
  return {
    name,
    deadLetters: `dead-${queueNumber}`,
    dispatch: makeDispatchRefreshes(wireDispatch(loadConfig(functionEnv), wiring)),
    worker: makeRefreshWorker(wire(loadConfig(functionEnv), wiring)),
  };
}

describe('refresh fan-out: dispatch-refreshes (schedule) → SQS → refresh-worker (event source mapping)', () => {
  it('dispatches what is due, the workers refresh it, and one status event per transition reaches the bus without secrets', async () => {
    // Prepare
    const repository = new DynamoDbTokenRepository({ client: table.client, tableName: table.tableName, dueShards: 4 });
    const due = await seed(repository, 'due.bitrix24.com', Date.now() - 1000);
    const unpaid = await seed(repository, 'unpaid.bitrix24.com', Date.now() - 2000);
    const later = await seed(repository, 'later.bitrix24.com', Date.now() + HOUR);
    emulator.setPayment(unpaid.portal, 'expired');
    const { name, dispatch, worker } = fanOut();
    const answers: SQSBatchResponse[] = [];
    const source = startQueueEventSource({
      client: queueClient,
      queueUrl: sqs.queueUrl(name),
      handler: async (event, context) => {
        const answer = await worker(event, context);
        answers.push(answer);
        return answer;
      },
      context: () => localContext('refresh-worker', 60_000),
      maxConcurrency: 2,
    });

    // Act
    const summary: DispatchSummary = await dispatch(
      { source: 'aws.scheduler' },
      localContext('dispatch-refreshes', 60_000),
    );
    await until(
      async () => sqs.depth(name),
      (depth) => depth === 0,
      { timeoutMs: 10_000 },
    );
    await source.stop();

    // Assess: both due token sets were queued and handled; the failure is recorded, not retried by SQS
    expect(summary).toMatchObject({ due: 2, enqueued: 2, backlog: 0, moreDue: false });
    expect(summary.oldestOverdueMs).toBeGreaterThanOrEqual(2000);
    expect(answers.flatMap((a) => a.batchItemFailures)).toEqual([]);
    expect(emulator.refreshCount(due.portal)).toBe(1);
    expect(emulator.refreshCount(later.portal)).toBe(0);
    expect((await repository.getTokenSet({ memberId: unpaid.portal.memberId, userId: 1 }))?.status).toBe(
      'payment_required',
    );
    const events = bus.events.filter((e) => e.Detail?.includes(unpaid.portal.memberId));
    expect(events).toHaveLength(1);
    const [event] = events;
    expect(event).toMatchObject({
      EventBusName: 'token-events',
      Source: NOTIFICATION_SOURCE,
      DetailType: TOKEN_STATUS_DETAIL_TYPE,
    });
    const detail: unknown = JSON.parse(event?.Detail ?? '{}');
    expect(detail).toMatchObject({
      event: 'payment_required',
      memberId: unpaid.portal.memberId,
      userId: 1,
      domain: 'unpaid.bitrix24.com',
      from: 'active',
      to: 'payment_required',
      reason: 'PAYMENT_REQUIRED',
    });
    const raw = JSON.stringify(bus.events) + sqs.bodies(name).join('');
    for (const secret of [unpaid.issued.accessToken, unpaid.issued.refreshToken, emulator.app().clientSecret]) {
      expect(raw).not.toContain(secret);
    }
  });

  it('sends due keys in batches of 10, and a key queued twice is refreshed once (the lease and the due check)', async () => {
    // Prepare: 23 due token sets, each queued twice (two overlapping dispatches)
    const repository = new DynamoDbTokenRepository({ client: table.client, tableName: table.tableName, dueShards: 4 });
    const seeded = [];
    for (let i = 0; i < 23; i += 1) seeded.push(await seed(repository, `twice-${i}.bitrix24.com`, Date.now() - 1000));
    const { name, worker } = fanOut();
    const queue = new SqsRefreshQueue({ client: queueClient, queueUrl: sqs.queueUrl(name) });
    const requests = seeded.map(({ portal }) => ({
      request: { memberId: portal.memberId, userId: 1, dueAt: Date.now() - 1000 },
    }));
    const sends: number[] = [];
    queueClient.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'SendMessageBatchCommand') {
          sends.push(((args.input as { Entries?: unknown[] }).Entries ?? []).length);
        }
        return next(args);
      },
      { step: 'initialize', name: 'countBatches' },
    );

    // Act
    const first = await queue.enqueue(requests);
    const second = await queue.enqueue(requests);
    queueClient.middlewareStack.remove('countBatches');
    const source = startQueueEventSource({
      client: queueClient,
      queueUrl: sqs.queueUrl(name),
      handler: worker,
      context: () => localContext('refresh-worker', 60_000),
      maxConcurrency: 4,
    });
    await until(
      async () => sqs.depth(name),
      (depth) => depth === 0,
      { timeoutMs: 15_000 },
    );
    await source.stop();

    // Assess
    expect(first).toEqual({ sent: 23, failed: 0 });
    expect(second).toEqual({ sent: 23, failed: 0 });
    expect(sends).toEqual([10, 10, 3, 10, 10, 3]);
    for (const { portal } of seeded) expect(emulator.refreshCount(portal)).toBe(1);
    expect(sqs.depth(`dead-${queueNumber}`)).toBe(0);
  });

  it('hands back a message whose refresh crashed, and after the receive limit it rests in the dead letters', async () => {
    // Prepare: the worker cannot read the client credentials (a secret that does not exist)
    const repository = new DynamoDbTokenRepository({ client: table.client, tableName: table.tableName, dueShards: 4 });
    const broken = await seed(repository, 'broken.bitrix24.com', Date.now() - 1000);
    const { name, deadLetters, worker } = fanOut(
      { CLIENT_CREDENTIALS_SECRET_ID: 'missing' },
      { shortVisibility: true },
    );
    const queue = new SqsRefreshQueue({ client: queueClient, queueUrl: sqs.queueUrl(name) });
    const failures: number[] = [];

    // Act
    const request = { memberId: broken.portal.memberId, userId: 1, dueAt: Date.now() - 1000 };
    await queue.enqueue([{ request }]);
    const source = startQueueEventSource({
      client: queueClient,
      queueUrl: sqs.queueUrl(name),
      handler: async (event, context) => {
        const answer = await worker(event, context);
        failures.push(answer.batchItemFailures.length);
        return answer;
      },
      context: () => localContext('refresh-worker', 60_000),
      maxConcurrency: 1,
    });
    await until(
      async () => sqs.depth(deadLetters),
      (depth) => depth === 1,
      { timeoutMs: 10_000 },
    );
    await source.stop();

    // Assess: three deliveries, each reported as a batch item failure; the token set is untouched and still due
    expect(failures).toEqual([1, 1, 1]);
    expect(sqs.bodies(deadLetters)).toEqual([encodeRefreshMessage(request)]);
    expect(emulator.refreshCount(broken.portal)).toBe(0);
    const stored = await repository.getTokenSet({ memberId: broken.portal.memberId, userId: 1 });
    expect(stored?.refreshToken).toBe(broken.issued.refreshToken);
    expect(stored?.nextRefreshAt).toBeLessThan(Date.now());
  });

  it('still finds token sets written under fewer shards after DUE_SHARDS grows, and moves them on their refresh', async () => {
    // Prepare: token sets written by a deployment with 4 shards
    const before = new DynamoDbTokenRepository({ client: table.client, tableName: table.tableName, dueShards: 4 });
    const grown = new DynamoDbTokenRepository({ client: table.client, tableName: table.tableName, dueShards: 16 });
    const seeded = [];
    for (let i = 0; i < 6; i += 1) seeded.push(await seed(before, `grown-${i}.bitrix24.com`, Date.now() - 1000));
    const { name, dispatch, worker } = fanOut({ DUE_SHARDS: '16' });
    const source = startQueueEventSource({
      client: queueClient,
      queueUrl: sqs.queueUrl(name),
      handler: worker,
      context: () => localContext('refresh-worker', 60_000),
    });

    // Act
    const summary: DispatchSummary = await dispatch({}, localContext('dispatch-refreshes', 60_000));
    await until(
      async () => sqs.depth(name),
      (depth) => depth === 0,
      { timeoutMs: 10_000 },
    );
    await source.stop();

    // Assess: every one dispatched and refreshed; now in the index under its 16-shard place
    expect(summary.enqueued).toBeGreaterThanOrEqual(6);
    for (const { portal } of seeded) {
      expect(emulator.refreshCount(portal)).toBe(1);
      const key = { memberId: portal.memberId, userId: 1 };
      const dueAt = (await grown.getTokenSet(key))?.nextRefreshAt ?? 0;
      let found = false;
      for (let shard = 0; shard < 16; shard += 1) {
        const page = await grown.queryDue(shard, dueAt, { limit: 1000 });
        if (page.keys.some((k) => k.memberId === key.memberId)) found = shard === dueShardOf(key, 16);
      }
      expect(found).toBe(true);
    }
  });

  it('sends one interval of the call budget, held back by SQS to spread it, and the backlog first next time', async () => {
    // Prepare: 10 due token sets; 2 calls/s for the sweep over a 3-second interval
    const repository = new DynamoDbTokenRepository({ client: table.client, tableName: table.tableName, dueShards: 4 });
    const seeded = [];
    for (let i = 0; i < 10; i += 1) {
      seeded.push(await seed(repository, `budget-${i}.bitrix24.com`, Date.now() - 60_000 + i * 1000));
    }
    const { name, dispatch, worker } = fanOut({
      REFRESH_CALLS_PER_SECOND: '2',
      REFRESH_ON_DEMAND_PERCENT: '0',
      REFRESH_DISPATCH_INTERVAL_SECONDS: '3',
    });
    const visible = async () => {
      const { Attributes } = await queueClient.send(
        new GetQueueAttributesCommand({
          QueueUrl: sqs.queueUrl(name),
          AttributeNames: ['ApproximateNumberOfMessages'],
        }),
      );
      return Number(Attributes?.ApproximateNumberOfMessages);
    };

    // Act: a dispatch, what the queue shows at once, the workers, then the next dispatch
    const first: DispatchSummary = await dispatch({}, localContext('dispatch-refreshes', 60_000));
    const visibleAtOnce = await visible();
    const inQueue = sqs.depth(name);
    const source = startQueueEventSource({
      client: queueClient,
      queueUrl: sqs.queueUrl(name),
      handler: worker,
      context: () => localContext('refresh-worker', 60_000),
    });
    await until(
      async () => sqs.depth(name),
      (depth) => depth === 0,
      { timeoutMs: 15_000 },
    );
    const refreshedFirst = seeded
      .filter(({ portal }) => emulator.refreshCount(portal) === 1)
      .map((s) => s.portal.domain);
    const second: DispatchSummary = await dispatch({}, localContext('dispatch-refreshes', 60_000));
    await until(
      async () => sqs.depth(name),
      (depth) => depth === 0,
      { timeoutMs: 15_000 },
    );
    await source.stop();

    // Assess: 6 sent (the oldest), 2 of them visible at once, the rest delayed; the 4 left went next
    expect(first).toMatchObject({ due: 10, allowance: 6, enqueued: 6, backlog: 4 });
    expect(inQueue).toBe(6);
    expect(visibleAtOnce).toBe(2);
    expect(refreshedFirst).toEqual(seeded.slice(0, 6).map((s) => s.portal.domain));
    expect(second).toMatchObject({ due: 4, enqueued: 4, backlog: 0 });
    for (const { portal } of seeded) expect(emulator.refreshCount(portal)).toBe(1);
  });

  it('drops a message that is not a refresh request, without a retry', async () => {
    // Prepare
    const { worker } = fanOut();

    // Act
    const answer = await worker(
      {
        Records: [
          {
            messageId: 'm1',
            receiptHandle: 'r',
            body: '{"memberId":"x"}',
            attributes: {
              ApproximateReceiveCount: '1',
              SentTimestamp: '0',
              SenderId: 's',
              ApproximateFirstReceiveTimestamp: '0',
            },
            messageAttributes: {},
            md5OfBody: '',
            eventSource: 'aws:sqs',
            eventSourceARN: 'arn:aws:sqs:local:000000000000:refresh',
            awsRegion: 'local',
          },
        ],
      },
      localContext('refresh-worker', 60_000),
    );

    // Assess
    expect(answer.batchItemFailures).toEqual([]);
  });
});

describe('EventBridgeNotificationPublisher (local PutEvents fake)', () => {
  it('puts the change as the detail of a "Token Status Changed" event on the named bus', async () => {
    // Prepare
    const publisher = new EventBridgeNotificationPublisher({
      client: new EventBridgeClient({ endpoint: bus.endpoint }),
      eventBusName: 'ops',
    });
    const change: TokenStatusChange = {
      event: 'reauth_required',
      memberId: 'a223c6b3710f85df22e9377d6c4f7553',
      userId: 1,
      domain: 'portal.bitrix24.com',
      from: 'active',
      to: 'reauth_required',
      reason: 'invalid_grant',
      at: '2026-03-01T00:00:00.000Z',
    };
    const before = bus.events.length;

    // Act
    await publisher.publish(change);

    // Assess
    const received = bus.events.slice(before);
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({
      EventBusName: 'ops',
      Source: 'bitrix24.token-service',
      DetailType: 'Token Status Changed',
    });
    expect(JSON.parse(received[0]?.Detail ?? '')).toEqual(change);
  });
});
