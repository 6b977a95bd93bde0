import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRefreshTokens } from '#functions/refresh-tokens.js';
import { type BitrixEmulator, startBitrixEmulator } from '#local/emulator/index.js';
import { type EventBridgeServer, startEventBridgeServer } from '#local/eventbridge-server.js';
import { localContext } from '#local/lambda-http-server.js';
import { type SecretsManagerServer, startSecretsManagerServer } from '#local/secrets-manager-server.js';
import { DynamoDbTokenRepository } from '#shared/adapters/dynamodb/token-repository.js';
import {
  EventBridgeNotificationPublisher,
  NOTIFICATION_SOURCE,
  TOKEN_STATUS_DETAIL_TYPE,
} from '#shared/adapters/eventbridge-notification-publisher.js';
import { DAY, HOUR } from '#shared/core/domain/time.js';
import type { TokenStatusChange } from '#shared/core/ports/notification-publisher.js';
import type { SweepSummary } from '#shared/core/use-cases/sweep-due-tokens.js';
import { awsClientSettingsFromEnv } from '#shared/runtime/clients.js';
import { loadConfig } from '#shared/runtime/config.js';
import { wire } from '#shared/runtime/wiring.js';
import { powertoolsLogger } from '#test/helpers/builders/loggers.js';
import { issuedFromEmulator } from '#test/helpers/harnesses/refresh.js';
import { createTestTable, type TestTable } from '#test/helpers/harnesses/table.js';

let emulator: BitrixEmulator;
let table: TestTable;
let secrets: SecretsManagerServer;
let bus: EventBridgeServer;
let env: Record<string, string>;

beforeAll(async () => {
  // Real time on both sides: the handler judges due times with Date.now, as in Lambda.
  emulator = await startBitrixEmulator();
  table = await createTestTable('refresh-fn');
  const app = emulator.app();
  secrets = await startSecretsManagerServer({
    creds: JSON.stringify({ clientId: app.clientId, clientSecret: app.clientSecret }),
  });
  bus = await startEventBridgeServer();
  // The function environment CDK sets for the sweep.
  env = {
    TABLE_NAME: table.tableName,
    BITRIX_URL_REWRITES: JSON.stringify(emulator.urlRewrites),
    CLIENT_CREDENTIALS_SECRET_ID: 'creds',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_ENDPOINT_URL_EVENTBRIDGE: bus.endpoint,
    EVENT_BUS_NAME: 'token-events',
  };
});
afterAll(async () => {
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

describe('refresh-tokens function (EventBridge Scheduler target)', () => {
  it('sweeps the due index, returns the summary, and puts one status event per transition on the bus without secrets', async () => {
    // Prepare
    const repository = new DynamoDbTokenRepository({ client: table.client, tableName: table.tableName, dueShards: 4 });
    const due = await seed(repository, 'due.bitrix24.com', Date.now() - 1000);
    const unpaid = await seed(repository, 'unpaid.bitrix24.com', Date.now() - 2000);
    const later = await seed(repository, 'later.bitrix24.com', Date.now() + HOUR);
    emulator.setPayment(unpaid.portal, 'expired');
    const handler = makeRefreshTokens(
      wire(loadConfig(env), {
        aws: awsClientSettingsFromEnv({ ...process.env, ...env }),
        logger: powertoolsLogger(),
      }),
    );

    // Act
    const summary: SweepSummary = await handler({ source: 'aws.scheduler' }, localContext('refresh-tokens', 60_000));

    // Assess
    expect(summary).toMatchObject({
      due: 2,
      refreshed: 1,
      failed: { total: 1, byCategory: { payment_required: 1 } },
      backlog: 0,
    });
    expect(summary.oldestOverdueMs).toBeGreaterThanOrEqual(2000);
    expect(emulator.refreshCount(due.portal)).toBe(1);
    expect(emulator.refreshCount(later.portal)).toBe(0);
    expect(bus.events).toHaveLength(1);
    const [event] = bus.events;
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
    const raw = JSON.stringify(bus.events);
    for (const secret of [unpaid.issued.accessToken, unpaid.issued.refreshToken, emulator.app().clientSecret]) {
      expect(raw).not.toContain(secret);
    }
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
