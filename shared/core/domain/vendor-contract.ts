/**
 * The token vendor's contract, version 1: the JSON a caller sends to the vendor function with Lambda
 * Invoke, and the JSON it gets back (docs/CONSUMERS.md §2 documents it for any language). The function
 * parses requests and writes answers with these functions; the consumer library writes requests and
 * reads answers with the same ones, so the two sides cannot drift apart.
 *
 * Compatibility: a caller may send fields this version does not know (they are ignored) and must ignore
 * answer fields it does not know; anything else changes `v`.
 */
import { type AccessToken, validateGetAccessTokenInput } from './access-token.js';
import {
  type AppError,
  LeaseHeldError,
  OWN_ERROR_CODES,
  PortalNotFoundError,
  TokenRefreshError,
  TokenUnavailableError,
  ValidationError,
} from './errors.js';
import type { RefreshFailureCategory } from './refresh-policy.js';
import { SECOND } from './time.js';
import { TOKEN_STATUSES, type TokenKey } from './token-set.js';

/** The contract version this code speaks; requests and answers carry it as `v`. */
export const VENDOR_CONTRACT_VERSION = 1;

/**
 * The longest validity a caller may ask for. An access token lives an hour and the sweep renews it
 * 15–20 minutes before its end; asking for more than half an hour would refresh on almost every call.
 */
export const MAX_MIN_VALIDITY_SECONDS = 1800;

/** What a failed refresh can be (`TokenRefreshError.category`), as an answer may name it. */
const REFRESH_FAILURE_CATEGORIES = [
  'invalid_grant',
  'invalid_client',
  'payment_required',
  'portal_deleted',
  'expired_code',
  'invalid_request',
  'transient',
  'member_mismatch',
  'write_failed',
  'backoff',
] as const satisfies readonly (RefreshFailureCategory | 'backoff')[];

/** What the vendor is asked to do. */
export type VendorRequest = GetTokenRequest | RecordUseRequest | PortalMovedRequest;

/** A usable access token: the stored one if it stays valid long enough, else a refreshed one. */
export interface GetTokenRequest {
  readonly action: 'getAccessToken';
  readonly memberId: string;
  /** Omitted: the portal's default user (`chooseDefaultTokenSet`). */
  readonly userId?: number | undefined;
  /** The token must stay valid this long. Omitted: the vendor's `CONSUMER_REFRESH_MARGIN_SECONDS`. */
  readonly minValidityMs?: number | undefined;
  /** The version of a token the portal refused: refreshed unless a newer version is stored. */
  readonly staleVersion?: number | undefined;
}

/** Records that a consumer uses the token set (`lastUsedAt`, for the `warm_while_used` policy). */
export interface RecordUseRequest {
  readonly action: 'recordUse';
  readonly memberId: string;
  readonly userId: number;
}

/** A REST call met a 302: the portal answers at a new address. */
export interface PortalMovedRequest {
  readonly action: 'portalMoved';
  readonly memberId: string;
  readonly previousClientEndpoint: string;
  readonly clientEndpoint: string;
}

/** Error codes of the contract. New codes may be added within a version: treat unknown ones as `internal`. */
export const VENDOR_ERROR_CODES = [
  /** The request does not meet the contract (`field` names the culprit). Nothing was changed. */
  'invalid_request',
  /** `v` is not a version this vendor speaks. */
  'unsupported_version',
  /** No such portal, or no token set of that user. */
  'portal_not_found',
  /** The app was uninstalled from the portal. */
  'uninstalled',
  /** The portal itself was deleted (`PORTAL_DELETED`): nothing will work again. */
  'portal_deleted',
  /** The refresh chain is dead: a person must open the app or authorize again. */
  'reauth_required',
  /** The portal's subscription ended (`PAYMENT_REQUIRED`). */
  'payment_required',
  /**
   * The authorization server refuses the app's client id/secret (or, until the service can tell, the
   * app is no longer installed on the portal: then the code becomes `uninstalled`).
   */
  'invalid_client',
  /** The token expired and the refresh failed for a transient reason (or waits for its back-off). */
  'refresh_failed',
  /** Another worker is refreshing this token set and did not finish in time. */
  'busy',
  /** Something of the vendor's own failed. */
  'internal',
] as const;

export type VendorErrorCode = (typeof VENDOR_ERROR_CODES)[number];

/** An error answer's body. Never holds a token or a secret. */
export interface VendorError {
  readonly code: VendorErrorCode;
  readonly message: string;
  readonly memberId?: string | undefined;
  readonly userId?: number | undefined;
  /** `invalid_request`: the field at fault. */
  readonly field?: string | undefined;
  /** `refresh_failed`, `busy`: when trying again makes sense (epoch ms). */
  readonly retryAt?: number | undefined;
  /** `refresh_failed`: what failed (`transient`, `backoff`, `write_failed`, …). */
  readonly category?: string | undefined;
  /** `refresh_failed`: the token set's status after the attempt. */
  readonly status?: string | undefined;
}

/** The answer to `getAccessToken`. */
export type VendorTokenAnswer = { readonly v: typeof VENDOR_CONTRACT_VERSION } & AccessToken;
/** The answer to `recordUse` and `portalMoved`. */
export interface VendorDoneAnswer {
  readonly v: typeof VENDOR_CONTRACT_VERSION;
  readonly ok: true;
}
export interface VendorErrorAnswer {
  readonly v: typeof VENDOR_CONTRACT_VERSION;
  readonly error: VendorError;
}
export type VendorAnswer = VendorTokenAnswer | VendorDoneAnswer | VendorErrorAnswer;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(field: string, message: string): ValidationError {
  return new ValidationError(message, { details: { field } });
}

function optionalInteger(body: Record<string, unknown>, field: string, max: number): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > max) {
    throw invalid(field, `${field} must be an integer from 0 to ${max}`);
  }
  return value;
}

function endpoint(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (typeof value !== 'string' || value.length > 512) throw invalid(field, `${field} must be a portal REST address`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(field, `${field} must be a portal REST address`);
  }
  // The shape every stored address has: `https://{host}/rest/`, nothing else.
  if (!/^https?:$/.test(url.protocol) || url.pathname !== '/rest/' || url.search !== '' || url.username !== '') {
    throw invalid(field, `${field} must look like https://{portal}/rest/`);
  }
  return value;
}

/**
 * Reads a request as it arrives (the invocation's payload). `action` defaults to `getAccessToken`, `v`
 * to 1; unknown fields are ignored.
 *
 * @throws ValidationError (`details.field`, and `details.code: 'unsupported_version'` for a `v` this
 *   vendor does not speak)
 *
 * @example
 * parseVendorRequest({ v: 1, memberId: 'a223…', staleVersion: 7 });
 * // → { action: 'getAccessToken', memberId: 'a223…', staleVersion: 7 }
 */
export function parseVendorRequest(payload: unknown): VendorRequest {
  if (!isRecord(payload)) throw invalid('payload', 'the request must be a JSON object');
  const v = payload.v ?? VENDOR_CONTRACT_VERSION;
  if (v !== VENDOR_CONTRACT_VERSION) {
    throw new ValidationError(`contract version ${String(v)} is not supported (this vendor speaks v1)`, {
      details: { field: 'v', code: 'unsupported_version' },
    });
  }
  const action = payload.action ?? 'getAccessToken';
  const memberId = payload.memberId;
  if (typeof memberId !== 'string') throw invalid('memberId', 'memberId must be a Bitrix24 member_id');
  switch (action) {
    case 'getAccessToken': {
      const userId = optionalInteger(payload, 'userId', Number.MAX_SAFE_INTEGER);
      const staleVersion = optionalInteger(payload, 'staleVersion', Number.MAX_SAFE_INTEGER);
      const minValiditySeconds = optionalInteger(payload, 'minValiditySeconds', MAX_MIN_VALIDITY_SECONDS);
      validateGetAccessTokenInput({ memberId, userId, staleVersion });
      return {
        action: 'getAccessToken',
        memberId,
        userId,
        staleVersion,
        minValidityMs: minValiditySeconds === undefined ? undefined : minValiditySeconds * SECOND,
      };
    }
    case 'recordUse': {
      const userId = optionalInteger(payload, 'userId', Number.MAX_SAFE_INTEGER);
      if (userId === undefined) throw invalid('userId', 'userId is required to record use');
      validateGetAccessTokenInput({ memberId, userId });
      return { action: 'recordUse', memberId, userId };
    }
    case 'portalMoved': {
      validateGetAccessTokenInput({ memberId });
      const previousClientEndpoint = endpoint(payload, 'previousClientEndpoint');
      const clientEndpoint = endpoint(payload, 'clientEndpoint');
      if (new URL(previousClientEndpoint).host === new URL(clientEndpoint).host) {
        throw invalid('clientEndpoint', 'clientEndpoint must name another host than previousClientEndpoint');
      }
      return { action: 'portalMoved', memberId, previousClientEndpoint, clientEndpoint };
    }
    default:
      throw invalid('action', 'action must be getAccessToken, recordUse or portalMoved');
  }
}

/** The JSON payload of a request, as the library sends it. */
export function vendorPayload(request: VendorRequest): Record<string, unknown> {
  const { minValidityMs, ...rest } = request as GetTokenRequest;
  return {
    v: VENDOR_CONTRACT_VERSION,
    ...rest,
    ...(minValidityMs === undefined ? {} : { minValiditySeconds: Math.ceil(minValidityMs / SECOND) }),
  };
}

/** The answer carrying a token. */
export function tokenAnswer(token: AccessToken): VendorTokenAnswer {
  return { v: VENDOR_CONTRACT_VERSION, ...token };
}

export const DONE_ANSWER: VendorDoneAnswer = Object.freeze({ v: VENDOR_CONTRACT_VERSION, ok: true });

/**
 * The error answer for what a request ran into. Typed errors keep their meaning; anything else is
 * `internal`, with a fixed message (an unknown error's own message is not shown to callers).
 */
export function errorAnswer(error: unknown): VendorErrorAnswer {
  return { v: VENDOR_CONTRACT_VERSION, error: vendorError(error) };
}

function vendorError(error: unknown): VendorError {
  if (error instanceof ValidationError) {
    const field = typeof error.details.field === 'string' ? error.details.field : undefined;
    const code = error.details.code === 'unsupported_version' ? 'unsupported_version' : 'invalid_request';
    return { code, message: error.message, field };
  }
  if (error instanceof PortalNotFoundError) {
    return {
      code: 'portal_not_found',
      message: error.message,
      memberId: stringDetail(error, 'memberId'),
      userId: numberDetail(error, 'userId'),
    };
  }
  if (error instanceof TokenRefreshError && error.reason === 'refresh_failed') {
    return {
      code: 'refresh_failed',
      message: error.message,
      memberId: error.memberId,
      userId: error.userId,
      retryAt: error.retryAt,
      category: error.category,
      status: error.status,
    };
  }
  if (error instanceof TokenUnavailableError) {
    return {
      code: error.reason,
      message: error.message,
      memberId: error.memberId,
      userId: error.userId,
      retryAt: numberDetail(error, 'retryAt'),
    };
  }
  if (error instanceof LeaseHeldError) {
    return {
      code: 'busy',
      message: error.message,
      memberId: stringDetail(error, 'memberId'),
      userId: numberDetail(error, 'userId'),
      retryAt: error.leaseUntil,
    };
  }
  return { code: 'internal', message: 'the token vendor failed' };
}

function stringDetail(error: AppError, name: string): string | undefined {
  const value = error.details[name];
  return typeof value === 'string' ? value : undefined;
}

function numberDetail(error: AppError, name: string): number | undefined {
  const value = error.details[name];
  return typeof value === 'number' ? value : undefined;
}

/**
 * Reads an answer of the vendor, as the library receives it: the token, or the typed error the answer
 * stands for (the same classes the service throws). An answer that does not meet the contract is a
 * `TokenUnavailableError('refresh_failed')` with `details.vendorError: 'malformed_response'`.
 */
export function readTokenAnswer(payload: unknown, asked: Pick<GetTokenRequest, 'memberId' | 'userId'>): AccessToken {
  if (!isRecord(payload) || payload.v !== VENDOR_CONTRACT_VERSION) throw malformed(asked);
  if (payload.error !== undefined) throw errorFromVendor(payload.error, asked);
  const { accessToken, expiresAt, clientEndpoint, domain, memberId, userId, version } = payload;
  if (
    typeof accessToken !== 'string' ||
    typeof expiresAt !== 'number' ||
    typeof clientEndpoint !== 'string' ||
    typeof domain !== 'string' ||
    memberId !== asked.memberId ||
    typeof userId !== 'number' ||
    (asked.userId !== undefined && userId !== asked.userId) ||
    typeof version !== 'number'
  ) {
    throw malformed(asked);
  }
  return Object.freeze({ accessToken, expiresAt, clientEndpoint, domain, memberId, userId, version });
}

/** Reads the answer to `recordUse` / `portalMoved`: nothing, or the typed error. */
export function readDoneAnswer(payload: unknown, asked: Pick<GetTokenRequest, 'memberId' | 'userId'>): void {
  if (!isRecord(payload) || payload.v !== VENDOR_CONTRACT_VERSION) throw malformed(asked);
  if (payload.error !== undefined) throw errorFromVendor(payload.error, asked);
  if (payload.ok !== true) throw malformed(asked);
}

function malformed(asked: Pick<GetTokenRequest, 'memberId' | 'userId'>): TokenUnavailableError {
  return new TokenUnavailableError('refresh_failed', asked.memberId, asked.userId, {
    details: { vendorError: OWN_ERROR_CODES.malformedResponse },
  });
}

/** The typed error an error answer stands for. */
function errorFromVendor(body: unknown, asked: Pick<GetTokenRequest, 'memberId' | 'userId'>): AppError {
  if (!isRecord(body) || typeof body.code !== 'string') return malformed(asked);
  const message = typeof body.message === 'string' ? body.message.slice(0, 300) : body.code;
  const memberId = typeof body.memberId === 'string' ? body.memberId : asked.memberId;
  const userId = typeof body.userId === 'number' ? body.userId : asked.userId;
  const retryAt = typeof body.retryAt === 'number' ? body.retryAt : undefined;
  const code = body.code as VendorErrorCode;
  switch (code) {
    case 'invalid_request':
    case 'unsupported_version':
      return new ValidationError(message, {
        details: { field: typeof body.field === 'string' ? body.field : undefined, code },
      });
    case 'portal_not_found':
      return new PortalNotFoundError(memberId, userId);
    case 'uninstalled':
    case 'reauth_required':
    case 'payment_required':
    case 'invalid_client':
      return new TokenUnavailableError(code, memberId, userId);
    case 'refresh_failed': {
      const category = REFRESH_FAILURE_CATEGORIES.find((known) => known === body.category);
      const status = TOKEN_STATUSES.find((known) => known === body.status);
      if (userId !== undefined && category !== undefined && status !== undefined) {
        const key: TokenKey = { memberId, userId };
        return new TokenRefreshError(key, category, status, retryAt);
      }
      return new TokenUnavailableError('refresh_failed', memberId, userId, { details: { retryAt } });
    }
    default:
      // `busy`, `internal` and codes of a later minor version: the token could not be had now.
      return new TokenUnavailableError('refresh_failed', memberId, userId, {
        details: { vendorError: code, retryAt },
      });
  }
}

/** Whether an error means "not now" rather than "never": the caller may keep using a token that still works. */
export function isTransientVendorError(error: unknown): boolean {
  return error instanceof TokenUnavailableError && error.reason === 'refresh_failed';
}
