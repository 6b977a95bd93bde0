import { type OAuthErrorCode, oauthErrorResponse, REST_ERRORS, type RestError, restErrorResponse } from './errors.js';
import {
  type EmulatorRequest,
  type EmulatorResponse,
  jsonResponse,
  type RoutedRequest,
  restTime,
  stringParam,
} from './http.js';
import type { EmulatorState } from './state.js';

/**
 * The central authorization servers (`oauth.bitrix.info`, `oauth.bitrix24.tech`): `/oauth/token/`
 * for code exchange and refresh, and `/rest/app.info` for the trusted token check.
 *
 * Either host answers for any portal (cross-region behaviour is undocumented); counters record which
 * host served each request so tests can assert the regional routing of the client.
 */
export function routeAuthServer(
  state: EmulatorState,
  host: string,
  request: EmulatorRequest,
): RoutedRequest | undefined {
  const path = request.path.replace(/\/+$/, '');
  if (path === '/oauth/token') {
    return { target: 'token', handle: () => tokenEndpoint(state, host, request) };
  }
  const rest = /^\/rest\/([A-Za-z0-9_.]+?)(?:\.json)?$/.exec(path);
  if (rest !== null) {
    const method = (rest[1] ?? '').toLowerCase();
    if (method === 'app.info') return { target: 'appInfo', handle: () => trustedAppInfo(state, request) };
    return { target: 'appInfo', handle: () => restErrorResponse(REST_ERRORS.methodNotFound) };
  }
  return undefined;
}

/**
 * `/oauth/token/` by GET query or POST form (both accepted, body over query).
 *
 * Check order: parameters → client credentials → grant → payment. Payment is checked after the grant
 * and before rotation, so a `PAYMENT_REQUIRED` answer leaves the refresh token usable once paid.
 */
function tokenEndpoint(state: EmulatorState, host: string, request: EmulatorRequest): EmulatorResponse {
  const grant = stringParam(request, 'grant_type');
  const outcome = (code: OAuthErrorCode | 'ok') => state.counters.tokenRequest(host, grant ?? '(none)', code);
  const fail = (code: OAuthErrorCode): EmulatorResponse => {
    outcome(code);
    return oauthErrorResponse(code, state.settings.errorStatuses);
  };

  const clientId = stringParam(request, 'client_id');
  const clientSecret = stringParam(request, 'client_secret');
  const code = stringParam(request, 'code');
  const refreshToken = stringParam(request, 'refresh_token');
  if (grant !== 'authorization_code' && grant !== 'refresh_token') return fail('invalid_request');
  const presented = grant === 'authorization_code' ? code : refreshToken;
  if (!clientId || !clientSecret || !presented) return fail('invalid_request');

  const app = state.apps.get(clientId);
  if (app === undefined || app.clientSecret !== clientSecret) return fail('invalid_client');

  if (grant === 'authorization_code') {
    const check = state.tokens.checkCode(presented);
    if (check.state === 'unknown') return fail('invalid_grant');
    // Expired and reused codes both answer expired_token (real capture, docs/PROTOCOL.md §2.4).
    if (check.state !== 'ok') return fail('expired_token');
    const { record } = check;
    // Valid credentials of another app: the code was not issued to it.
    if (record.clientId !== app.clientId) return fail('invalid_grant');
    const portal = state.portals.find(record.memberId);
    const installation = portal?.installations.get(app.clientId);
    if (portal === undefined || installation?.installed !== true) return fail('invalid_grant');
    if (installation.paymentExpired) return fail('PAYMENT_REQUIRED');
    state.tokens.useCode(record);
    const tokens = state.tokens.startChain({
      clientId: app.clientId,
      memberId: portal.memberId,
      userId: record.userId,
      origin: 'code',
      scope: app.scope,
    });
    outcome('ok');
    return jsonResponse(200, state.tokenAnswer(portal, tokens, tokens.scope, installation.status), {
      'cache-control': 'no-store',
    });
  }

  const check = state.tokens.checkRefresh(presented);
  // A token the server never issued (or forgot) is an invalid grant.
  if (check.state === 'unknown') return fail('invalid_grant');
  const { chain } = check;
  // Another registered app's valid credentials with this token: invalid_grant, as reported on the
  // vendor forum (docs/PROTOCOL.md §7). Unknown ids or wrong secrets were refused above as invalid_client.
  if (chain.clientId !== app.clientId) return fail('invalid_grant');
  const portal = state.portals.find(chain.memberId);
  if (portal?.deleted === true) return fail('PORTAL_DELETED');
  // The app is not installed on the chain's portal (any more): "Invalid client data was provided. The
  // application may not be installed in Bitrix24" (docs/PROTOCOL.md §3.1), whatever the token's state.
  const installation = portal?.installations.get(app.clientId);
  if (portal === undefined || installation?.installed !== true) return fail('invalid_client');
  // Used, expired and revoked refresh tokens answer invalid_grant: the documented "go through
  // authorization again" signal (docs/PROTOCOL.md §2.7, §3.1).
  if (check.state !== 'live') return fail('invalid_grant');
  if (installation.paymentExpired) return fail('PAYMENT_REQUIRED');
  const tokens = state.tokens.rotate(chain);
  state.counters.refreshSucceeded(portal.memberId, host);
  outcome('ok');
  // Real local apps answer "app" here, not the granted list (docs/PROTOCOL.md §2.5).
  const scope = state.settings.refreshScope === 'app' ? 'app' : tokens.scope;
  return jsonResponse(200, state.tokenAnswer(portal, tokens, scope, installation.status), {
    'cache-control': 'no-store',
  });
}

/**
 * `app.info` on the authorization server: proves which app and portal a token belongs to. The shape
 * is the one the official Python SDK parses (b24pysdk `B24AppInfoResult`: `client_id`, `scope`,
 * `expires` ISO, `install{installed, version, status, scope, domain, uri, client_endpoint, member_id,
 * member_type}`, `user_id`), plus a top-level `member_id`. `member_type` "PORTAL" is a guess.
 */
function trustedAppInfo(state: EmulatorState, request: EmulatorRequest): EmulatorResponse {
  const startedAt = state.clock.now();
  const auth = stringParam(request, 'auth');
  const fail = (error: RestError) => {
    state.counters.appInfo(error.error);
    return restErrorResponse(error);
  };
  if (!auth) return fail(REST_ERRORS.noAuthFound);
  const check = state.tokens.checkAccess(auth);
  if (check.state === 'unknown' || check.state === 'revoked') return fail(REST_ERRORS.invalidToken);
  if (check.state !== 'live') return fail(REST_ERRORS.expiredToken);
  const { chain } = check;
  const portal = state.portals.find(chain.memberId);
  const installation = portal?.installations.get(chain.clientId);
  if (portal === undefined || installation === undefined) return fail(REST_ERRORS.invalidToken);
  state.counters.appInfo('ok');
  const scope = chain.scope.join(',');
  const expires = new Date(chain.current.accessExpiresAt).toISOString().replace(/\.\d{3}Z$/, '+00:00');
  return jsonResponse(200, {
    result: {
      scope,
      client_id: chain.clientId,
      expires,
      install: {
        installed: installation.installed,
        version: installation.version,
        status: installation.status,
        scope,
        domain: portal.domain,
        uri: `https://${portal.domain}/`,
        client_endpoint: `https://${portal.domain}/rest/`,
        member_id: portal.memberId,
        member_type: 'PORTAL',
      },
      user_id: chain.userId,
      member_id: portal.memberId,
    },
    time: restTime(startedAt, state.clock.now()),
  });
}
