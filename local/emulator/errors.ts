import { type EmulatorResponse, jsonResponse } from './http.js';

/** OAuth error codes the token endpoint answers. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'expired_token'
  | 'PAYMENT_REQUIRED'
  | 'PORTAL_DELETED';

/**
 * Default HTTP statuses of token-endpoint errors. Bitrix24 documents none (docs/PROTOCOL.md §3.1); these
 * follow phpsdk's assumptions (400 invalid_grant, 401 invalid_client) and RFC 6749 §5.2 for the rest.
 * `PAYMENT_REQUIRED` gets 400, not 402: nothing suggests the server uses 402, and clients must read
 * the body anyway (the `errorsAsHttp200` fault sends every error with 200). `PORTAL_DELETED` gets 404
 * (phpsdk reads a 404 from the token endpoint as "portal not found or deleted").
 */
export const DEFAULT_OAUTH_ERROR_STATUS: Readonly<Record<OAuthErrorCode, number>> = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  expired_token: 400,
  PAYMENT_REQUIRED: 400,
  PORTAL_DELETED: 404,
};

/** Descriptions as Bitrix24 writes them (test/fixtures/bitrix24/ and docs/PROTOCOL.md §3.1). */
export const OAUTH_ERROR_DESCRIPTIONS: Readonly<Record<OAuthErrorCode, string>> = {
  invalid_request: 'Invalid request',
  invalid_client: 'Client authentication failed',
  invalid_grant: 'The provided authorization grant is invalid, expired, revoked',
  expired_token: 'The authorization token provided has expired.',
  PAYMENT_REQUIRED: 'Payment required',
  PORTAL_DELETED: 'Portal was deleted',
};

/** A token-endpoint error body with the configured status. */
export function oauthErrorResponse(
  code: OAuthErrorCode,
  statuses: Readonly<Record<OAuthErrorCode, number>>,
): EmulatorResponse {
  return jsonResponse(statuses[code], { error: code, error_description: OAUTH_ERROR_DESCRIPTIONS[code] });
}

/** A REST error as Bitrix24 sends it: HTTP status plus `{error, error_description}`. */
export interface RestError {
  readonly status: number;
  readonly error: string;
  readonly description: string;
}

/**
 * REST errors the emulator produces, texts from test/fixtures/bitrix24/error-rest-*.json (docs/PROTOCOL.md §3.2).
 * `invalid_token` is not in Bitrix24's table; its text is the OAuth2 library's usual one.
 */
export const REST_ERRORS = {
  expiredToken: { status: 401, error: 'expired_token', description: 'The access token provided has expired' },
  invalidToken: { status: 401, error: 'invalid_token', description: 'The access token provided is invalid' },
  noAuthFound: { status: 401, error: 'NO_AUTH_FOUND', description: 'Wrong authorization data' },
  portalDeleted: { status: 500, error: 'PORTAL_DELETED', description: 'Portal was deleted' },
  queryLimitExceeded: { status: 503, error: 'QUERY_LIMIT_EXCEEDED', description: 'Too many requests' },
  operationTimeLimit: {
    status: 429,
    error: 'OPERATION_TIME_LIMIT',
    description: 'Method is blocked due to operation time limit',
  },
  insufficientScope: {
    status: 403,
    error: 'insufficient_scope',
    description: 'The request requires higher privileges than provided by the access token',
  },
  accessDeniedPlan: {
    status: 403,
    error: 'ACCESS_DENIED',
    description: 'REST API is available only on commercial plans',
  },
  methodNotFound: { status: 404, error: 'ERROR_METHOD_NOT_FOUND', description: 'Method not found!' },
  batchLengthExceeded: { status: 400, error: 'ERROR_BATCH_LENGTH_EXCEEDED', description: 'Max batch length exceeded' },
  batchMethodNotAllowed: {
    status: 405,
    error: 'ERROR_BATCH_METHOD_NOT_ALLOWED',
    description: 'Method is not allowed for batch usage',
  },
  invalidArgument: { status: 400, error: 'INVALID_ARG_VALUE', description: 'Invalid argument value' },
} as const satisfies Record<string, RestError>;

/** The HTTP answer for a REST error. */
export function restErrorResponse(error: RestError): EmulatorResponse {
  return jsonResponse(error.status, { error: error.error, error_description: error.description });
}
