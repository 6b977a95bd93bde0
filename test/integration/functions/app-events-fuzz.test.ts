import qs from 'qs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeAppEvents } from '#functions/app-events.js';
import { makeInstallPage } from '#functions/install-page.js';
import { seededRandom } from '#local/emulator/faults.js';
import { type LambdaHttpServer, startLambdaHttpServer } from '#local/lambda-http-server.js';
import { DynamoDbParkedEventRepository } from '#shared/adapters/dynamodb/parked-event-repository.js';
import { DynamoDbRecoveryStore } from '#shared/adapters/dynamodb/recovery-store.js';
import { DynamoDbTokenRepository } from '#shared/adapters/dynamodb/token-repository.js';
import { PARKED_RETRY_SPREAD } from '#shared/core/domain/parked-event.js';
import { DAY, HOUR, MINUTE } from '#shared/core/domain/time.js';
import { SILENT_LOGGER } from '#shared/core/ports/logger.js';
import type { HandleAppEventDeps } from '#shared/core/use-cases/handle-app-event.js';
import type { OpenInstallPageDeps } from '#shared/core/use-cases/open-install-page.js';
import { MemoryAuthServer } from '#test/fakes/memory-auth-server.js';
import { MemoryMetrics } from '#test/fakes/memory-metrics.js';
import { MemoryNotifications } from '#test/fakes/memory-notifications.js';
import { MemoryPortalProfile } from '#test/fakes/memory-portal-profile.js';
import { memberId, token } from '#test/helpers/builders/fixtures.js';
import { powertoolsLogger } from '#test/helpers/builders/loggers.js';
import { testRefreshSettings } from '#test/helpers/builders/refresh-settings.js';
import { createTestTable, readWholeTable, type TestTable } from '#test/helpers/harnesses/table.js';

const FORM = 'application/x-www-form-urlencoded';
const MAX_BODY = 16_384;

/** An authorization server that knows no token of anybody's: it refuses every claim, and counts how often it was asked. */
const refusing = new MemoryAuthServer(Date.now);

let table: TestTable;
let server: LambdaHttpServer;

beforeAll(async () => {
  table = await createTestTable('lifecycle-fuzz');
  const tokens = new DynamoDbTokenRepository({ client: table.client, tableName: table.tableName });
  const deps: OpenInstallPageDeps & HandleAppEventDeps = {
    tokens,
    parked: new DynamoDbParkedEventRepository({ client: table.client, tableName: table.tableName }),
    oauth: refusing,
    allowedAuthServers: ['oauth.bitrix.info', 'oauth.bitrix24.tech'],
    refreshTokenLifetimeMs: 30 * DAY,
    nextRefreshAt: () => undefined,
    parking: { retry: { baseMs: MINUTE, maxMs: HOUR, spread: PARKED_RETRY_SPREAD }, maxAgeMs: 7 * DAY },
    receiptTtlSeconds: 3600,
    defaultServerEndpoint: 'https://oauth.bitrix.info/rest/',
    profiles: new MemoryPortalProfile(),
    refresh: {
      repository: tokens,
      oauth: refusing,
      recovery: new DynamoDbRecoveryStore({ client: table.client, tableName: table.tableName }),
      notifications: new MemoryNotifications(),
      metrics: new MemoryMetrics(),
      logger: SILENT_LOGGER,
      settings: testRefreshSettings(),
      clock: Date.now,
    },
    notifications: new MemoryNotifications(),
    metrics: new MemoryMetrics(),
    logger: SILENT_LOGGER,
    now: Date.now,
  };
  const functionDeps = {
    lifecycle: deps,
    logger: powertoolsLogger(),
    metrics: new MemoryMetrics(),
    config: {
      LIFECYCLE_BODY_MAX_BYTES: MAX_BODY,
      BX24_LIBRARY_URL: '//api.bitrix24.com/api/v1/',
      BITRIX_URL_REWRITES: {},
    },
  };
  server = await startLambdaHttpServer({
    'POST /bitrix/events': makeAppEvents(functionDeps),
    'POST /bitrix/install': makeInstallPage(functionDeps),
  });
});
afterAll(async () => {
  await server.stop();
  await table.drop();
});

/** A well-formed ONAPPINSTALL as nested data, for mutation. */
function validInstall(): Record<string, unknown> {
  return {
    event: 'ONAPPINSTALL',
    data: { VERSION: '1', ACTIVE: 'Y', INSTALLED: 'Y', LANGUAGE_ID: 'en' },
    ts: '1700000000',
    auth: {
      access_token: token(),
      expires: '1700003600',
      expires_in: '3600',
      scope: 'crm',
      domain: 'fuzz.bitrix24.com',
      server_endpoint: 'https://oauth.bitrix.info/rest/',
      status: 'L',
      client_endpoint: 'https://fuzz.bitrix24.com/rest/',
      member_id: memberId(),
      user_id: '1',
      refresh_token: token(),
      application_token: token(),
    },
  };
}

const REQUIRED_AUTH = [
  'access_token',
  'refresh_token',
  'application_token',
  'member_id',
  'client_endpoint',
  'server_endpoint',
  'domain',
];

interface FuzzCase {
  readonly kind: string;
  readonly body: string | Buffer;
  readonly contentType: string;
}

/** One malformed request; every kind is invalid by construction, so each must be refused. */
function fuzzCase(random: () => number): FuzzCase {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const kind = pick([
    'bytes',
    'huge',
    'deep',
    'proto',
    'array',
    'wrong_type',
    'missing',
    'content_type',
    'json_garbage',
  ]);
  switch (kind) {
    case 'bytes': {
      const bytes = Buffer.from(
        Array.from({ length: 1 + Math.floor(random() * 2000) }, () => Math.floor(random() * 256)),
      );
      // Random bytes as a form body can still spell `event=x`: prefix a key that makes it an install.
      return {
        kind,
        body: Buffer.concat([Buffer.from('event=ONAPPINSTALL&'), bytes]),
        contentType: pick([FORM, 'application/json']),
      };
    }
    case 'huge':
      return {
        kind,
        body: `event=ONAPPINSTALL&auth%5Bmember_id%5D=${'x'.repeat(MAX_BODY + Math.floor(random() * 50_000))}`,
        contentType: FORM,
      };
    case 'deep': {
      const depth = 7 + Math.floor(random() * 40);
      return { kind, body: `event=ONAPPINSTALL&auth${'[a]'.repeat(depth)}=1`, contentType: FORM };
    }
    case 'proto': {
      const key = pick(['__proto__', 'constructor', 'prototype']);
      const body = pick([
        `event=ONAPPINSTALL&${key}%5Bpolluted%5D=1`,
        `${qs.stringify(validInstall())}&auth%5B${key}%5D%5Bpolluted%5D=1`,
        `${qs.stringify(validInstall())}&data%5B${key}%5D=1`,
      ]);
      return { kind, body, contentType: FORM };
    }
    case 'array': {
      const payload = validInstall();
      const auth = payload.auth as Record<string, unknown>;
      const field = pick(REQUIRED_AUTH);
      if (random() < 0.3) payload.event = ['ONAPPINSTALL', 'ONAPPUNINSTALL'];
      else auth[field] = [String(auth[field]), 'second'];
      return { kind, body: qs.stringify(payload), contentType: FORM };
    }
    case 'wrong_type': {
      const payload = validInstall();
      const auth = payload.auth as Record<string, unknown>;
      const value = pick([true, null, { nested: 'x' }, [], 1.5e308 * 10]);
      if (random() < 0.3) payload.event = value;
      else auth[pick(REQUIRED_AUTH)] = value;
      return { kind, body: JSON.stringify(payload), contentType: 'application/json' };
    }
    case 'missing': {
      const payload = validInstall();
      const auth = payload.auth as Record<string, unknown>;
      delete auth[pick(REQUIRED_AUTH)];
      if (random() < 0.2) delete payload.auth;
      return {
        kind,
        body: random() < 0.5 ? qs.stringify(payload) : JSON.stringify(payload),
        contentType: random() < 0.5 ? FORM : 'application/json',
      };
    }
    case 'content_type':
      return {
        kind,
        body: qs.stringify(validInstall()),
        contentType: pick([
          'text/plain',
          'multipart/form-data; boundary=x',
          'application/xml',
          `${FORM}; charset=windows-1251`,
        ]),
      };
    default:
      return {
        kind,
        body: pick(['{', '[]', '"x"', 'null', '{"event":', '{"event":"ONAPPINSTALL","auth":"x"}']),
        contentType: 'application/json',
      };
  }
}

async function post(path: string, fuzz: FuzzCase): Promise<number> {
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': fuzz.contentType },
    body: typeof fuzz.body === 'string' ? fuzz.body : new Uint8Array(fuzz.body),
  });
  await response.text();
  return response.status;
}

describe('lifecycle endpoints under malformed input', () => {
  it('refuses 200 seeded malformed event bodies with 4xx and writes nothing', async () => {
    // Prepare
    // Seeded: the same bodies on every run.
    const random = seededRandom(20_240_917);
    const before = await readWholeTable(table.client, table.tableName);
    const callsBefore = refusing.calls;
    const statuses = new Map<string, Set<number>>();

    // Act
    for (let i = 0; i < 200; i += 1) {
      const fuzz = fuzzCase(random);
      const status = await post('/bitrix/events', fuzz);
      statuses.set(fuzz.kind, new Set([...(statuses.get(fuzz.kind) ?? []), status]));
      // Assess (per case, so a failure names the kind)
      expect([400, 413, 415], `${fuzz.kind} answered ${status}`).toContain(status);
    }

    // Assess
    expect(refusing.calls).toBe(callsBefore);
    expect(await readWholeTable(table.client, table.tableName)).toEqual(before);
    expect(statuses.size).toBeGreaterThanOrEqual(8);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses malformed install-frame POSTs with 4xx and writes nothing', async () => {
    // Prepare
    const random = seededRandom(7);
    const before = await readWholeTable(table.client, table.tableName);

    // Act
    for (let i = 0; i < 60; i += 1) {
      const valid: Record<string, unknown> = {
        AUTH_ID: token(),
        AUTH_EXPIRES: '3600',
        REFRESH_ID: token(),
        member_id: memberId(),
        PLACEMENT: 'DEFAULT',
      };
      const field = ['AUTH_ID', 'REFRESH_ID', 'member_id', 'AUTH_EXPIRES', 'SERVER_ENDPOINT'][i % 5] ?? 'AUTH_ID';
      const mutation = Math.floor(random() * 3);
      if (mutation === 0) valid[field] = ['a', 'b'];
      if (mutation === 1) valid[field] = { nested: 'x' };
      if (mutation === 2)
        valid[field] = field === 'member_id' || field === 'SERVER_ENDPOINT' ? 'not a valid value/%' : '';
      const status = await post('/bitrix/install', { kind: 'frame', body: qs.stringify(valid), contentType: FORM });

      // Assess
      expect([400, 403], `${field} mutation ${mutation} answered ${status}`).toContain(status);
    }

    // Assess
    expect(await readWholeTable(table.client, table.tableName)).toEqual(before);
  });
});
