import { createError, type HttpError } from '@middy/util';
import { BitrixOAuthError, isAppError } from '#shared/core/domain/errors.js';

/**
 * A middy `HttpError` whose body is JSON a person can read and a program can branch on:
 * `{"error": code, "message": message}`. Every message is written here or by `toHttpError` for the
 * public, so it is always safe to show (`expose`).
 *
 * @example
 * throw httpError(413, 'payload_too_large', 'the body is larger than 65536 bytes');
 */
export function httpError(statusCode: number, code: string, message: string, cause?: unknown): HttpError {
  return createError(statusCode, JSON.stringify({ error: code, message }), {
    expose: true,
    ...(cause === undefined ? {} : { cause }),
  });
}

const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  validation: 400,
  state: 400,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  lease_held: 409,
  unavailable: 503,
  config: 500,
};

function isHttpError(error: unknown): error is HttpError {
  return error instanceof Error && typeof (error as Partial<HttpError>).statusCode === 'number';
}

/**
 * The one mapping from our errors to HTTP. Client mistakes keep their message; anything else becomes
 * a 5xx whose message names no internals (the cause stays attached for logs).
 */
export function toHttpError(error: unknown): HttpError {
  if (isHttpError(error)) return error;
  if (error instanceof BitrixOAuthError) {
    return httpError(502, 'authorization_server_error', 'the Bitrix24 authorization server refused or failed', error);
  }
  if (isAppError(error)) {
    const status = STATUS_BY_CODE[error.code] ?? 500;
    // 503 messages are written for the public (`ClaimNotSavedError`, `TokenUnavailableError`).
    const safe = status < 500 || status === 503;
    return httpError(status, error.code, safe ? error.message : 'internal error', error);
  }
  return httpError(500, 'internal', 'internal error', error);
}
