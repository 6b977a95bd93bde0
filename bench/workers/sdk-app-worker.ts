/**
 * An app built the way the official SDK (`@bitrix24/b24jssdk` 2.2.0) documents it, in its own process:
 * the tokens live in a shared database row (DynamoDB, one item per portal, no lock, no condition); each
 * invocation reads the row, builds a `B24OAuth` with the app's client id and secret, and registers
 * `setCallbackRefreshAuth` to write the refreshed pair back. The SDK refreshes on `expired_token` /
 * `invalid_token` (401) and retries once; concurrent refreshes inside one process share one request.
 *
 * Command `{ op: 'round', memberIds }`: one REST call (`profile`) per portal, in order; answers
 * `{ ok, failed, errors }`, and a `progress` line as each refresh leaves. Env: `ROWS_TABLE`,
 * `BITRIX_URL_REWRITES`, `APP_CLIENT_ID`, `APP_CLIENT_SECRET`.
 */
import '#bench/lib/environment.js';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { B24OAuth, EnumAppStatus } from '@bitrix24/b24jssdk';
import { rowKey, type SdkRow } from '#bench/lib/sdk-rows.js';
import { reportProgress, serveWorker } from '#bench/lib/worker-process.js';
import { rewriteUrl } from '#shared/core/domain/url-rewrites.js';

const table = process.env.ROWS_TABLE ?? '';
const rewrites = JSON.parse(process.env.BITRIX_URL_REWRITES ?? '{}') as Record<string, string>;
const secret = { clientId: process.env.APP_CLIENT_ID ?? '', clientSecret: process.env.APP_CLIENT_SECRET ?? '' };
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}));

async function callOnce(memberId: string): Promise<string> {
  const { Item } = await doc.send(new GetCommand({ TableName: table, Key: rowKey(memberId), ConsistentRead: true }));
  const row = Item as SdkRow | undefined;
  if (row === undefined) return 'row_missing';
  const b24 = new B24OAuth(
    {
      applicationToken: '',
      userId: row.userId,
      memberId: row.memberId,
      accessToken: row.accessToken,
      refreshToken: row.refreshToken,
      expires: row.expires,
      expiresIn: 3600,
      scope: '',
      domain: row.domain,
      // The SDK appends the method to this base (and `/oauth/token/` to the server's): both rewritten onto the emulator.
      clientEndpoint: rewriteUrl(row.clientEndpoint, rewrites).replace(/\/+$/, ''),
      serverEndpoint: rewriteUrl(row.serverEndpoint, rewrites),
      status: EnumAppStatus.Local,
    },
    secret,
  );
  b24.setCallbackRefreshAuth(async ({ b24OAuthParams }) => {
    // The save the SDK docs show: the whole new pair, unconditionally (no lock, no version).
    await doc.send(
      new PutCommand({
        TableName: table,
        Item: {
          ...rowKey(memberId),
          memberId,
          accessToken: b24OAuthParams.accessToken,
          refreshToken: b24OAuthParams.refreshToken,
          expires: b24OAuthParams.expires,
          clientEndpoint: b24OAuthParams.clientEndpoint,
          serverEndpoint: b24OAuthParams.serverEndpoint,
          domain: row.domain,
          userId: row.userId,
        },
      }),
    );
  });
  // Measurement only: each refresh is announced as it leaves (the parent may aim a kill at it).
  const auth = b24.auth;
  const refreshAuth = auth.refreshAuth.bind(auth);
  auth.refreshAuth = () => {
    reportProgress('token_call');
    return refreshAuth();
  };
  try {
    const response = await b24.actions.v2.call.make({ method: 'profile', params: {} });
    if (response.isSuccess) return 'ok';
    return `rest_error:${response.getErrorMessages().join(';').slice(0, 60)}`;
  } catch (error) {
    const code =
      typeof error === 'object' && error !== null && 'code' in error
        ? String((error as { code: unknown }).code)
        : 'unknown';
    return `error:${code}`;
  }
}

serveWorker(async (command) => {
  const memberIds = (command.memberIds as string[] | undefined) ?? [];
  let ok = 0;
  const errors: Record<string, number> = {};
  for (const memberId of memberIds) {
    const outcome = await callOnce(memberId);
    if (outcome === 'ok') ok += 1;
    else errors[outcome] = (errors[outcome] ?? 0) + 1;
  }
  return { ok, failed: memberIds.length - ok, errors };
});
