import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import qs from 'qs';
import { seededRandom } from '#bench/lib/stats.js';
import { makeAppEvents } from '#functions/app-events.js';
import { makeInstallPage } from '#functions/install-page.js';
import { makeOAuthCallback } from '#functions/oauth-callback.js';
import { makeOAuthStart } from '#functions/oauth-start.js';
import { makeProcessParkedEvents } from '#functions/process-parked-events.js';
import { ensureTable } from '#local/create-table.js';
import { type BitrixEmulator, startBitrixEmulator } from '#local/emulator/index.js';
import { type LambdaHttpServer, localContext, startLambdaHttpServer } from '#local/lambda-http-server.js';
import { type SecretsManagerServer, startSecretsManagerServer } from '#local/secrets-manager-server.js';
import { noParkedClaimDue, startTableStream, type TableStream } from '#local/table-stream.js';
import { PARKED_CLAIM_STREAM_FILTER } from '#shared/adapters/dynamodb/table-schema.js';
import { awsClientSettingsFromEnv } from '#shared/runtime/clients.js';
import { loadConfig } from '#shared/runtime/config.js';
import { DISCARDED_METRICS } from '#shared/runtime/metrics.js';
import { wire } from '#shared/runtime/wiring.js';
import { powertoolsLogger } from '#test/helpers/builders/loggers.js';
import type { ChaosReport } from './verdict.js';

export interface RequestFuzzOptions {
  readonly endpoint: string;
  readonly requests: number;
  readonly seed: number;
}

interface FuzzRequest {
  readonly kind: string;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly query?: string;
  readonly body?: string | Buffer;
  readonly contentType?: string;
  readonly cookie?: string;
}

const FORM = 'application/x-www-form-urlencoded';
const hex = (bytes: number) => randomBytes(bytes).toString('hex');

/** What the legitimate traffic of the setup looked like: bodies to forge from. */
interface Templates {
  readonly installBody: Record<string, unknown>;
  readonly frameBody: Record<string, unknown>;
  readonly frameQuery: string;
  /** Member ids of installed portals, and a live access token of the first (to try on another portal). */
  readonly memberIds: readonly string[];
  readonly liveAccessToken: string;
}

/** Strings a parser should survive. */
const NASTY = [
  '',
  ' ',
  '\u0000',
  '%00',
  '%',
  '%zz',
  '\r\nSet-Cookie: x=1',
  '../../etc/passwd',
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a log-injection probe, meant literally
  '${jndi:ldap://127.0.0.1/x}',
  '{{7*7}}',
  '😀'.repeat(50),
  'ä'.repeat(300),
  'x'.repeat(5000),
  '-1',
  '1e309',
  'NaN',
  '[object Object]',
  '__proto__',
  'constructor',
  'https://evil.example/rest/',
  'http://127.0.0.1:1/',
  'javascript:alert(1)',
];

/** Portal addresses `/oauth/start` must refuse (nothing of them may reach the state table). */
const BAD_PORTALS = [
  'https://evil.example',
  '//evil.example',
  'evil.example/path',
  'user@evil.example',
  '127.0.0.1',
  '0x7f.1',
  '2130706433',
  '[::1]',
  'localhost',
  'a..b.com',
  '-a.bitrix24.com',
  'a.bitrix24.com:99999',
  'a.bitrix24.com:0',
  'a b.bitrix24.com',
  'a.bitrix24.com?x=1',
  'a.bitrix24.com#x',
  'a%2Fb.bitrix24.com',
  'x'.repeat(300),
  // Well-formed host names that are neither a Bitrix24 cloud portal nor an allowed on-premise one.
  'evil.example',
  'a.bitrix24.com.evil.example',
  'a.b.bitrix24.com',
];

/** One forged or malformed request, chosen by the seeded PRNG; none of them may change the table. */
function fuzzRequest(random: () => number, t: Templates): FuzzRequest {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const nasty = () => pick(NASTY);
  const member = () => pick(t.memberIds);
  const install = () =>
    structuredClone(t.installBody) as { event: string; auth: Record<string, unknown>; data?: unknown };
  const frame = () => structuredClone(t.frameBody) as Record<string, unknown>;
  const kinds = [
    'start_bad_portal',
    'start_nasty_query',
    'callback_forged',
    'callback_nasty',
    'event_forged_tokens',
    'event_foreign_server',
    'event_member_swap',
    'event_uninstall_wrong_token',
    'event_uninstall_no_token',
    'event_update_forged',
    'event_unknown_name',
    'event_bytes',
    'event_huge',
    'event_deep',
    'event_proto',
    'event_arrays',
    'event_wrong_types_json',
    'event_missing_field',
    'event_content_type',
    'frame_forged_tokens',
    'frame_member_swap',
    'frame_nasty_fields',
    'frame_bytes',
    'install_get_nasty',
  ] as const;
  const kind = pick(kinds);
  switch (kind) {
    case 'start_bad_portal':
      return { kind, method: 'GET', path: '/oauth/start', query: `portal=${encodeURIComponent(pick(BAD_PORTALS))}` };
    case 'start_nasty_query':
      return {
        kind,
        method: 'GET',
        path: '/oauth/start',
        query: `portal=${encodeURIComponent(nasty())}&portal=${encodeURIComponent(nasty())}`,
      };
    case 'callback_forged':
      return {
        kind,
        method: 'GET',
        path: '/oauth/callback',
        query: qs.stringify({
          code: hex(35),
          state: hex(16),
          domain: 'alpha.bitrix24.com',
          member_id: member(),
          scope: 'crm',
          server_domain: 'oauth.bitrix.info',
        }),
        cookie: random() < 0.5 ? `b24_oauth_binding=${hex(16)}` : `__Host-b24_oauth_binding=${nasty()}`,
      };
    case 'callback_nasty':
      return {
        kind,
        method: 'GET',
        path: '/oauth/callback',
        query: qs.stringify({
          code: nasty(),
          state: nasty(),
          domain: nasty(),
          member_id: nasty(),
          server_domain: pick(['evil.example', nasty()]),
        }),
      };
    case 'event_forged_tokens': {
      const body = install();
      Object.assign(body.auth, {
        access_token: hex(35),
        refresh_token: hex(35),
        application_token: hex(16),
        member_id: member(),
      });
      return { kind, method: 'POST', path: '/bitrix/events', body: qs.stringify(body), contentType: FORM };
    }
    case 'event_foreign_server': {
      const body = install();
      Object.assign(body.auth, {
        server_endpoint: pick([
          'https://evil.example/rest/',
          'http://127.0.0.1:1/rest/',
          'https://oauth.bitrix.info.evil.example/rest/',
        ]),
      });
      return { kind, method: 'POST', path: '/bitrix/events', body: qs.stringify(body), contentType: FORM };
    }
    case 'event_member_swap': {
      // A live access token of one portal, offered as another portal's install.
      const body = install();
      const victim = t.memberIds.find((id) => id !== body.auth.member_id) ?? member();
      Object.assign(body.auth, {
        access_token: t.liveAccessToken,
        refresh_token: hex(35),
        application_token: hex(16),
        member_id: victim,
      });
      return { kind, method: 'POST', path: '/bitrix/events', body: qs.stringify(body), contentType: FORM };
    }
    case 'event_uninstall_wrong_token':
      return {
        kind,
        method: 'POST',
        path: '/bitrix/events',
        body: qs.stringify({
          event: 'ONAPPUNINSTALL',
          data: { CLEAN: pick(['0', '1']) },
          auth: { member_id: member(), domain: 'alpha.bitrix24.com', application_token: pick([hex(16), nasty()]) },
        }),
        contentType: FORM,
      };
    case 'event_uninstall_no_token':
      return {
        kind,
        method: 'POST',
        path: '/bitrix/events',
        body: qs.stringify({ event: 'ONAPPUNINSTALL', data: { CLEAN: '1' }, auth: { member_id: member() } }),
        contentType: FORM,
      };
    case 'event_update_forged': {
      const body = install();
      body.event = 'ONAPPUPDATE';
      Object.assign(body.auth, { access_token: hex(35), refresh_token: hex(35), member_id: member() });
      return { kind, method: 'POST', path: '/bitrix/events', body: qs.stringify(body), contentType: FORM };
    }
    case 'event_unknown_name': {
      const body = install();
      body.event = pick(['ONCRMDEALADD', 'onappinstall ', 'ONAPPINSTALL\u0000', nasty()]);
      return { kind, method: 'POST', path: '/bitrix/events', body: qs.stringify(body), contentType: FORM };
    }
    case 'event_bytes':
      return {
        kind,
        method: 'POST',
        path: '/bitrix/events',
        body: Buffer.concat([Buffer.from('event=ONAPPINSTALL&'), randomBytes(1 + Math.floor(random() * 3000))]),
        contentType: pick([FORM, 'application/json', 'application/octet-stream']),
      };
    case 'event_huge':
      return {
        kind,
        method: 'POST',
        path: '/bitrix/events',
        body: `event=ONAPPINSTALL&auth%5Bmember_id%5D=${'x'.repeat(70_000 + Math.floor(random() * 200_000))}`,
        contentType: FORM,
      };
    case 'event_deep':
      return {
        kind,
        method: 'POST',
        path: '/bitrix/events',
        body: `event=ONAPPINSTALL&auth${'[a]'.repeat(5 + Math.floor(random() * 60))}=1`,
        contentType: FORM,
      };
    case 'event_proto': {
      const key = pick(['__proto__', 'constructor', 'prototype']);
      return {
        kind,
        method: 'POST',
        path: '/bitrix/events',
        body: `${qs.stringify(install())}&auth%5B${key}%5D%5Bmember_id%5D=${member()}&${key}%5Bevent%5D=ONAPPUNINSTALL`,
        contentType: FORM,
      };
    }
    case 'event_arrays': {
      const body = install();
      const field = pick(['access_token', 'member_id', 'application_token', 'server_endpoint']);
      body.auth[field] = [String(body.auth[field]), hex(8)];
      if (random() < 0.3) (body as Record<string, unknown>).event = ['ONAPPINSTALL', 'ONAPPUNINSTALL'];
      return { kind, method: 'POST', path: '/bitrix/events', body: qs.stringify(body), contentType: FORM };
    }
    case 'event_wrong_types_json': {
      const body = install();
      body.auth[pick(['access_token', 'member_id', 'application_token', 'client_endpoint', 'user_id'])] = pick([
        true,
        null,
        { nested: 1 },
        [],
        1e308,
        -1,
      ]);
      return {
        kind,
        method: 'POST',
        path: '/bitrix/events',
        body: JSON.stringify(body),
        contentType: 'application/json',
      };
    }
    case 'event_missing_field': {
      const body = install();
      delete body.auth[
        pick([
          'access_token',
          'refresh_token',
          'application_token',
          'member_id',
          'client_endpoint',
          'server_endpoint',
          'domain',
        ])
      ];
      return { kind, method: 'POST', path: '/bitrix/events', body: qs.stringify(body), contentType: FORM };
    }
    case 'event_content_type':
      return {
        kind,
        method: 'POST',
        path: '/bitrix/events',
        body: qs.stringify(install()),
        contentType: pick([
          'text/plain',
          'multipart/form-data; boundary=x',
          'application/xml',
          `${FORM}; charset=windows-1251`,
          '',
        ]),
      };
    case 'frame_forged_tokens': {
      const body = frame();
      Object.assign(body, { AUTH_ID: hex(35), REFRESH_ID: hex(35), member_id: member(), APPLICATION_TOKEN: hex(16) });
      return {
        kind,
        method: 'POST',
        path: '/bitrix/install',
        query: t.frameQuery,
        body: qs.stringify(body),
        contentType: FORM,
      };
    }
    case 'frame_member_swap': {
      const body = frame();
      const victim = t.memberIds.find((id) => id !== body.member_id) ?? member();
      Object.assign(body, { AUTH_ID: t.liveAccessToken, REFRESH_ID: hex(35), member_id: victim });
      return {
        kind,
        method: 'POST',
        path: '/bitrix/install',
        query: t.frameQuery,
        body: qs.stringify(body),
        contentType: FORM,
      };
    }
    case 'frame_nasty_fields': {
      const body = frame();
      body[
        pick(['AUTH_ID', 'REFRESH_ID', 'member_id', 'SERVER_ENDPOINT', 'DOMAIN', 'AUTH_EXPIRES', 'PLACEMENT_OPTIONS'])
      ] = nasty();
      Object.assign(body, { AUTH_ID: random() < 0.8 ? hex(35) : body.AUTH_ID });
      return {
        kind,
        method: 'POST',
        path: '/bitrix/install',
        query: random() < 0.5 ? t.frameQuery : `DOMAIN=${encodeURIComponent(nasty())}`,
        body: qs.stringify(body),
        contentType: FORM,
      };
    }
    case 'frame_bytes':
      return {
        kind,
        method: 'POST',
        path: '/bitrix/install',
        query: t.frameQuery,
        body: randomBytes(1 + Math.floor(random() * 2000)),
        contentType: pick([FORM, 'text/html']),
      };
    case 'install_get_nasty':
      return {
        kind,
        method: 'GET',
        path: '/bitrix/install',
        query: `DOMAIN=${encodeURIComponent(nasty())}&PROTOCOL=${encodeURIComponent(nasty())}&LANG=${encodeURIComponent(nasty())}`,
      };
  }
}

async function send(server: LambdaHttpServer, request: FuzzRequest): Promise<number> {
  const headers: Record<string, string> = {};
  if (request.contentType !== undefined && request.contentType !== '') headers['content-type'] = request.contentType;
  // fetch refuses control and non-Latin-1 characters in headers: a browser could not send them either.
  if (request.cookie !== undefined) headers.cookie = request.cookie.replace(/[^\x20-\x7e]/g, '');
  const response = await fetch(
    `${server.url}${request.path}${request.query === undefined ? '' : `?${request.query}`}`,
    {
      method: request.method,
      headers,
      ...(request.body === undefined
        ? {}
        : { body: typeof request.body === 'string' ? request.body : new Uint8Array(request.body) }),
      redirect: 'manual',
      signal: AbortSignal.timeout(30_000),
    },
  );
  await response.arrayBuffer();
  return response.status;
}

/**
 * Chaos 3: forged and malformed requests on every endpoint, served by the deployed handlers
 * (each function's factory on the wiring a deployment's environment gives it) through
 * `local/lambda-http-server.ts`, backed by DynamoDB Local, local Secrets Manager and the emulator as
 * the authorization server. Three portals are installed for real first (their bodies are the templates
 * of the forgeries); then every fuzzed request must leave the table exactly as it was, and no answer
 * may be a 5xx.

 */
export async function runRequestFuzz(options: RequestFuzzOptions): Promise<ChaosReport> {
  const started = performance.now();
  const client = new DynamoDBClient({
    endpoint: options.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const doc = DynamoDBDocumentClient.from(client);
  const tableName = `chaos-fuzz-${hex(4)}`;
  await ensureTable(client, tableName);
  let emulator: BitrixEmulator | undefined;
  let secrets: SecretsManagerServer | undefined;
  let server: LambdaHttpServer | undefined;
  let stream: TableStream | undefined;
  const unhandled: string[] = [];
  const onUnhandled = (error: unknown) => unhandled.push(`unhandledRejection: ${String(error)}`);
  process.on('unhandledRejection', onUnhandled);
  try {
    emulator = await startBitrixEmulator();
    const app = emulator.app();
    secrets = await startSecretsManagerServer({
      creds: JSON.stringify({ clientId: app.clientId, clientSecret: app.clientSecret }),
    });
    // The function environment a deployment gives the handlers, and the production wiring on it.
    const env = {
      TABLE_NAME: tableName,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: options.endpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
      CLIENT_CREDENTIALS_SECRET_ID: 'creds',
      BITRIX_URL_REWRITES: JSON.stringify(emulator.urlRewrites),
      OAUTH_COOKIE_SECURE: 'false',
      // A verification that times out parks the claim (a write, by design); on a loaded machine that
      // would blur the figure, so the authorization server gets all the time it needs here.
    };
    const wiring = wire(loadConfig(env), {
      aws: awsClientSettingsFromEnv(env),
      logger: powertoolsLogger('SILENT'),
      metrics: DISCARDED_METRICS,
    });
    const installPage = makeInstallPage(wiring);
    server = await startLambdaHttpServer({
      'GET /oauth/start': makeOAuthStart(wiring),
      'GET /oauth/callback': makeOAuthCallback(wiring),
      'POST /bitrix/events': makeAppEvents(wiring),
      'GET /bitrix/install': installPage,
      'POST /bitrix/install': installPage,
    });
    // Install events are parked on receipt and finished from the table stream, as deployed: a forged
    // one is refused and removed there, so the table is compared once that has happened.
    const processParked = makeProcessParkedEvents(wiring);
    stream = await startTableStream({
      endpoint: options.endpoint,
      tableName,
      filter: PARKED_CLAIM_STREAM_FILTER,
      handle: (event) => processParked(event, localContext('process-parked-events', 60_000)),
    });
    const streamed = stream;
    const settle = () => streamed.drain(() => noParkedClaimDue(wiring.lifecycle.parked, Date.now()));
    emulator.updateApp({
      eventHandlerUrl: `${server.url}/bitrix/events`,
      installUrl: `${server.url}/bitrix/install`,
      redirectUri: `${server.url}/oauth/callback`,
    });

    // Legitimate traffic first: three installs and an app open, all stored.
    const memberIds: string[] = [];
    let installBody: Record<string, unknown> | undefined;
    let liveAccessToken = '';
    for (const domain of ['alpha', 'beta', 'gamma']) {
      const portal = emulator.addPortal({ domain: `${domain}-${hex(3)}.bitrix24.com`, region: 'west' });
      const installed = await emulator.install(portal);
      if (installed.status !== 202) throw new Error(`setup install answered ${installed.status}`);
      await settle();
      memberIds.push(portal.memberId);
      installBody ??= qs.parse(installed.requestBody) as Record<string, unknown>;
      if (liveAccessToken === '') liveAccessToken = installed.tokens?.accessToken ?? '';
    }
    const opened = await emulator.openApp(memberIds[0] ?? '');
    if (opened.status !== 200 || installBody === undefined) throw new Error(`setup app open answered ${opened.status}`);
    const templates: Templates = {
      installBody,
      frameBody: qs.parse(opened.requestBody) as Record<string, unknown>,
      frameQuery: new URL(opened.url).search.replace(/^\?/, ''),
      memberIds,
      liveAccessToken,
    };

    const snapshot = async (): Promise<string> => {
      const items: Record<string, unknown>[] = [];
      let cursor: Record<string, unknown> | undefined;
      do {
        const page = await doc.send(
          new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey: cursor }),
        );
        items.push(...(page.Items ?? []));
        cursor = page.LastEvaluatedKey;
      } while (cursor !== undefined);
      return JSON.stringify(items.map((item) => JSON.stringify(item, Object.keys(item).sort())).sort());
    };

    const random = seededRandom(options.seed);
    const statuses: Record<string, number> = {};
    const byKind: Record<string, number> = {};
    const writers: string[] = [];
    const fivexx: string[] = [];
    let before = await snapshot();
    const itemsAtStart = (JSON.parse(before) as unknown[]).length;
    for (let i = 0; i < options.requests; i += 1) {
      const request = fuzzRequest(random, templates);
      byKind[request.kind] = (byKind[request.kind] ?? 0) + 1;
      let status: number;
      try {
        status = await send(server, request);
      } catch (error) {
        unhandled.push(`${request.kind}: request failed ${String(error)}`);
        continue;
      }
      statuses[String(status)] = (statuses[String(status)] ?? 0) + 1;
      if (status >= 500) fivexx.push(`${request.kind} → ${status}`);
      if (status === 202) await settle();
      const after = await snapshot();
      if (after !== before) writers.push(`${request.kind} → ${status}`);
      before = after;
    }
    return {
      name: 'forged and fuzzed requests',
      gate: {
        lostSilently: 0,
        falseReauth: 0,
        unhandledErrors: unhandled.length,
        http5xx: fivexx.length,
        writesFromRejectedInput: writers.length,
      },
      observed: {
        requests: options.requests,
        endpoints: [
          'GET /oauth/start',
          'GET /oauth/callback',
          'POST /bitrix/events',
          'GET /bitrix/install',
          'POST /bitrix/install',
        ],
        kinds: Object.keys(byKind).length,
        byKind,
        statuses,
        tableItems: itemsAtStart,
        writers: writers.slice(0, 10),
        fivexx: fivexx.slice(0, 10),
        unhandled: unhandled.slice(0, 10),
        seconds: Math.round((performance.now() - started) / 1000),
      },
    };
  } finally {
    process.off('unhandledRejection', onUnhandled);
    await stream?.stop();
    await server?.stop();
    await secrets?.stop();
    await emulator?.stop();
    await client.send(new DeleteTableCommand({ TableName: tableName })).catch(() => undefined);
    client.destroy();
  }
}
