import { z } from 'zod';
import { ConfigError } from './domain/errors.js';

const csv = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((part) => part.trim().toLowerCase())
      .filter((part) => part.length > 0),
  );

const jsonRecord = z.string().transform((value, ctx) => {
  try {
    const parsed: unknown = JSON.parse(value);
    const result = z.record(z.string(), z.string().url()).safeParse(parsed);
    if (result.success) return result.data;
    ctx.addIssue({ code: 'custom', message: 'must be a JSON object of origin → base URL' });
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be valid JSON' });
  }
  return z.NEVER;
});

const int = (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback);

/**
 * Every setting, read from the environment once at cold start. A function's deployment sets only the
 * variables it uses; the others keep their defaults.
 */
const schema = z.object({
  /** The token table. */
  TABLE_NAME: z.string().min(1).default('bitrix24-tokens'),
  /** Shards of the due index the sweep reads. Changing it needs every token set re-written. */
  DUE_SHARDS: int(4, 1),
  /** Authorization servers we send our client secret to (host names as Bitrix24 names them). */
  BITRIX_AUTH_SERVERS: csv.default(['oauth.bitrix.info', 'oauth.bitrix24.tech']),
  /**
   * Transport-level redirection of outbound Bitrix24 URLs, for an emulator or a proxy:
   * `{"https://oauth.bitrix.info": "http://127.0.0.1:8080/h/oauth.bitrix.info"}` or
   * `{"*": "http://127.0.0.1:8080/h/{host}"}`. Data keeps the real host names.
   */
  BITRIX_URL_REWRITES: jsonRecord.default({}),
  /** Secrets Manager id (name or ARN) of `{"clientId": "...", "clientSecret": "..."}`. */
  CLIENT_CREDENTIALS_SECRET_ID: z.string().min(1).optional(),
  /** How long the client credentials stay cached, so a rotation takes effect. */
  CLIENT_CREDENTIALS_MAX_AGE_SECONDS: int(300),
  /** Timeout of one call to the authorization server or a portal. Must stay below the lease. */
  BITRIX_HTTP_TIMEOUT_MS: int(8000, 100),
  /**
   * Consumer library: a token this close to expiry is refreshed on demand (through the one refresh
   * path) before it is handed out.
   */
  CONSUMER_REFRESH_MARGIN_SECONDS: int(300),
  /**
   * Consumer library: longest time a process keeps an access token in memory. The real limit is
   * min(this, expiresAt − margin), and a consumer that meets `expired_token` drops it at once.
   */
  CONSUMER_CACHE_SECONDS: int(300),
  /** Consumer library: how often a process records that it uses a token set (`lastUsedAt`). */
  CONSUMER_TOUCH_THROTTLE_SECONDS: int(900),
  /** Timeout of one portal REST call (Bitrix24 cloud stops a request after 60 s). */
  BITRIX_REST_TIMEOUT_MS: int(30_000, 100),
  /** Attempts of one REST call while the portal answers `QUERY_LIMIT_EXCEEDED` / `OPERATION_TIME_LIMIT`. */
  BITRIX_REST_MAX_ATTEMPTS: int(4, 1),
  /** Back-off between those attempts: full jitter over base·2ⁿ, capped. */
  BITRIX_REST_BACKOFF_BASE_MS: int(1000),
  BITRIX_REST_BACKOFF_MAX_MS: int(15_000),
  /** Assumed refresh-token lifetime (Bitrix24 documents 180 days; real tokens carry 30). */
  REFRESH_TOKEN_LIFETIME_DAYS: z.coerce.number().positive().default(30),
  /** Refresh lease: longer than the HTTP timeout plus the write retries. */
  REFRESH_LEASE_SECONDS: int(30, 1),
  /**
   * Timeout of the authorization-server call that verifies an install event or install-frame POST.
   * Short on purpose: Bitrix24 deprioritises slow event handlers, and a timed-out claim is parked and
   * finished later, not lost.
   */
  LIFECYCLE_VERIFY_TIMEOUT_MS: int(1500, 100),
  /** Largest event / install-frame body accepted (bytes, after base64 decoding); larger ones get 413. */
  LIFECYCLE_BODY_MAX_BYTES: int(65_536, 1024),
  /** Authorization server of an install frame that names none (`SERVER_ENDPOINT` absent). */
  DEFAULT_SERVER_ENDPOINT: z.string().url().default('https://oauth.bitrix.info/rest/'),
  /** How long a parked (not yet verified) install claim is retried before it is dropped; also its TTL. */
  PARKED_EVENT_MAX_AGE_DAYS: z.coerce.number().positive().default(7),
  /** Due-index shards of parked claims (`PARKED#{n}`). */
  PARKED_EVENT_SHARDS: int(2, 1),
  /** First retry delay of a parked claim; doubles per attempt up to `PARKED_RETRY_MAX_SECONDS`. */
  PARKED_RETRY_BASE_SECONDS: int(60, 1),
  PARKED_RETRY_MAX_SECONDS: int(3600, 1),
  /** How long a finished claim's receipt is kept, so a second delivery of it changes nothing. */
  LIFECYCLE_RECEIPT_TTL_HOURS: int(48, 1),
  /** How long a started authorization (its `state`) may take before the callback refuses it. */
  OAUTH_STATE_TTL_SECONDS: int(600, 30),
  /**
   * `Secure` flag of the OAuth browser-binding cookie. `auto` sets it unless the request arrived over
   * plain http (`x-forwarded-proto: http`); `false` only for local http runs (browsers drop Secure cookies
   * on plain http except for localhost).
   */
  OAUTH_COOKIE_SECURE: z.enum(['auto', 'true', 'false']).default('auto'),
});

export type Config = Readonly<z.infer<typeof schema>>;

/**
 * Parses the environment into a frozen `Config`; a bad value fails the cold start with its name.
 *
 * @example
 * const config = loadConfig(); // module scope of a handler
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Empty strings mean "not set" (CDK and shells produce them).
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${problems}`);
  }
  if (result.data.BITRIX_HTTP_TIMEOUT_MS >= result.data.REFRESH_LEASE_SECONDS * 1000) {
    throw new ConfigError('invalid configuration: BITRIX_HTTP_TIMEOUT_MS must be shorter than REFRESH_LEASE_SECONDS');
  }
  return Object.freeze(result.data);
}
