import { BitrixOAuthError, isAppError } from '#shared/core/domain/errors.js';

/** An error with an HTTP status that `@middy/http-error-handler` turns into a response. */
export class HttpError extends Error {
  readonly statusCode: number;
  readonly expose: boolean;
  readonly headers: Record<string, string>;

  constructor(statusCode: number, code: string, message: string, options: ErrorOptions = {}) {
    // The body is JSON a person can read and a program can branch on.
    super(JSON.stringify({ error: code, message }), options);
    this.name = 'HttpError';
    this.statusCode = statusCode;
    // Every message is written by `toHttpError` for the public, so it is always safe to show.
    this.expose = true;
    this.headers = { 'Content-Type': 'application/json' };
  }
}

const STATUS_BY_CODE: Record<string, number> = {
  validation: 400,
  state: 400,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  lease_held: 409,
  config: 500,
};

/**
 * The one mapping from our errors to HTTP. Client mistakes keep their message; anything else becomes
 * a 5xx whose message names no internals (the cause stays attached for logs).
 */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof BitrixOAuthError) {
    return new HttpError(502, 'authorization_server_error', 'the Bitrix24 authorization server refused or failed', {
      cause: error,
    });
  }
  if (isAppError(error)) {
    const status = STATUS_BY_CODE[error.code] ?? 500;
    const message = status < 500 ? error.message : 'internal error';
    return new HttpError(status, error.code, message, { cause: error });
  }
  return new HttpError(500, 'internal', 'internal error', { cause: error });
}
