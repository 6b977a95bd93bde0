import { CONSUMER_TUNING } from '#shared/consumer/settings.js';
import { ConfigError } from '#shared/core/domain/errors.js';
import { parsePortalAddress } from '#shared/core/domain/portal-address.js';
import { REFRESH_POLICY_MODES, UNINSTALL_PROOF_LEASE_WAIT_MS } from '#shared/core/domain/refresh-policy.js';
import type { DynamoDbClientLimits } from './clients.js';
import {
  int,
  listOf,
  lowerCaseList,
  nonNegative,
  oneOf,
  optionalText,
  pageUrl,
  parseSettings,
  positive,
  type SettingsOf,
  text,
  url,
  urlMap,
} from './env-settings.js';

/**
 * Every setting, read from the environment once at cold start. A function's deployment sets only the
 * variables it uses; the others keep their defaults.
 */
const schema = {
  /** The token table. */
  TABLE_NAME: text('bitrix24-tokens'),
  /**
   * Shards of the due index (`DUE#0…`): one Query each per dispatch. 16 keeps each shard's index writes
   * at about 5% of a partition's limit with a million token sets kept warm (docs/CAPACITY.md). It may
   * grow at any time (entries of the old shards are still read, and move on their next write); it must
   * never shrink while token sets are stored.
   */
  DUE_SHARDS: int(16, 1),
  /** Authorization servers we send our client secret to (host names as Bitrix24 names them). */
  BITRIX_AUTH_SERVERS: lowerCaseList(['oauth.bitrix.info', 'oauth.bitrix24.tech']),
  /**
   * Transport-level redirection of outbound Bitrix24 URLs, for an emulator or a proxy:
   * `{"https://oauth.bitrix.info": "http://127.0.0.1:8080/h/oauth.bitrix.info"}` or
   * `{"*": "http://127.0.0.1:8080/h/{host}"}`. Data keeps the real host names.
   */
  BITRIX_URL_REWRITES: urlMap({}),
  /**
   * On-premise portals this deployment serves (host, with the port when not 443), comma-separated:
   * `/oauth/start` sends browsers only to Bitrix24 cloud portals and these, and a REST call follows a
   * redirect of such a portal only to its own host or another of these. Empty: cloud portals only.
   */
  BITRIX_ON_PREMISE_PORTALS: listOf<string>([], (part) => {
    try {
      return { value: parsePortalAddress(part) };
    } catch (error) {
      return { problem: `is not a host name with an optional port (${error instanceof Error ? error.message : ''})` };
    }
  }),
  /** Secrets Manager id (name or ARN) of `{"clientId": "...", "clientSecret": "..."}`. */
  CLIENT_CREDENTIALS_SECRET_ID: optionalText(),
  /**
   * The app's client id, for `/oauth/start`, which may not read the secret (the stack sets it from its
   * `clientId`). Unset: the `clientId` of the credentials secret (local runs, tests).
   */
  BITRIX_CLIENT_ID: optionalText(),
  /** How long the client credentials stay cached, so a rotation takes effect. */
  CLIENT_CREDENTIALS_MAX_AGE_SECONDS: int(300),
  /**
   * Time limits of one DynamoDB call (request and connection) and the SDK's attempts per call. Every
   * call, retries included, ends well inside the refresh lease: a write that could hang past the lease
   * might land after another worker took over.
   */
  DYNAMODB_REQUEST_TIMEOUT_MS: int(2000, 100),
  DYNAMODB_CONNECT_TIMEOUT_MS: int(1000, 100),
  DYNAMODB_MAX_ATTEMPTS: int(3, 1),
  /** Timeout of one call to the authorization server or a portal. Must stay below the lease. */
  BITRIX_HTTP_TIMEOUT_MS: int(8000, 100),
  /** Consumer library and token vendor: cache, on-demand margin, use records, REST calls (see there). */
  ...CONSUMER_TUNING,
  /** Assumed refresh-token lifetime (Bitrix24 documents 180 days; real tokens carry 30). */
  REFRESH_TOKEN_LIFETIME_DAYS: positive(30),
  /** Refresh lease: longer than the HTTP timeout plus the write retries. */
  REFRESH_LEASE_SECONDS: int(30, 1),
  /**
   * What the sweep keeps alive (docs/REFRESH.md): `always_warm` renews every access token before its
   * hour ends; `warm_while_used` only while consumers used the token set within
   * REFRESH_WARM_WINDOW_HOURS; `keep_alive` only keeps the refresh-token window open.
   */
  REFRESH_POLICY: oneOf(REFRESH_POLICY_MODES, 'always_warm'),
  /** Access tokens are renewed this long before expiry; must exceed the sweep interval (5 min). */
  REFRESH_ACCESS_LEAD_MINUTES: nonNegative(15),
  /** Up to this much earlier again, at random, so portals installed together spread out. */
  REFRESH_ACCESS_JITTER_MINUTES: nonNegative(5),
  /** Every chain is renewed this long before its refresh-token window (REFRESH_TOKEN_LIFETIME_DAYS) ends. */
  REFRESH_TOKEN_LEAD_DAYS: nonNegative(7),
  /** Up to this much earlier again, at random. */
  REFRESH_TOKEN_JITTER_HOURS: nonNegative(24),
  /** `warm_while_used`: a token set counts as used this long after a consumer read it. */
  REFRESH_WARM_WINDOW_HOURS: positive(24),
  /** Transient refresh failures in a row after which a token set is marked `degraded`. */
  REFRESH_DEGRADED_AFTER: int(3, 1),
  /** Back-off after a transient failure: base·2ⁿ⁻¹ (half of it random), capped at the max. */
  REFRESH_RETRY_BASE_SECONDS: positive(60),
  REFRESH_RETRY_MAX_SECONDS: positive(1800),
  /** `payment_required` token sets stay in the due index and are retried this rarely. */
  REFRESH_PAYMENT_RETRY_HOURS: positive(24),
  /** How often a chain refused with `invalid_client` is tried again (its refresh token is unspent). */
  REFRESH_CREDENTIALS_RETRY_MINUTES: positive(15),
  /**
   * After `invalid_grant` on a taken-over lease, wait this long before concluding `reauth_required`
   * (the interrupted worker may still write). Longer than the lease plus the write retries.
   */
  REFRESH_TAKEOVER_GRACE_SECONDS: positive(120),
  /** Attempts to store a refreshed pair (the old refresh token is already spent) before parking it. */
  REFRESH_WRITE_ATTEMPTS: int(4, 1),
  /** Token sets the sweep refreshes at the same time. */
  REFRESH_SWEEP_CONCURRENCY: int(8, 1),
  /** The sweep starts no refresh when less than this is left of the invocation; longer than one refresh. */
  REFRESH_SWEEP_MARGIN_SECONDS: positive(15),
  /**
   * Most due token sets one dispatch (or `ops -- sweep`) reads; the rest stay due for the next run and
   * count as backlog. A million token sets kept warm have about 111,000 due per 5-minute interval.
   */
  REFRESH_SWEEP_MAX_KEYS: int(120_000, 1),
  /**
   * URL of the SQS queue the dispatcher hands due token sets to (the stack sets it). Unset: the
   * dispatcher has nowhere to send and fails its run with this name in the message.
   */
  REFRESH_QUEUE_URL: optionalText(),
  /**
   * Ceiling of calls per second to the authorization server for the whole app (docs/REFRESH.md §5):
   * the dispatcher hands out at most one interval's worth, spread evenly; the rest waits in the index.
   */
  REFRESH_CALLS_PER_SECOND: positive(100),
  /** Percent of that ceiling kept for on-demand refreshes of waiting consumers; the sweep never uses it. */
  REFRESH_ON_DEMAND_PERCENT: int(20, 0),
  /** Time between two dispatches: the schedule's rate (the stack sets it from `refreshInterval`). */
  REFRESH_DISPATCH_INTERVAL_SECONDS: int(300, 1),
  /** EventBridge bus for token-status notifications; unset = notifications go to the log only. */
  EVENT_BUS_NAME: optionalText(),
  /** Largest event / install-frame body accepted (bytes, after base64 decoding); larger ones get 413. */
  LIFECYCLE_BODY_MAX_BYTES: int(65_536, 1024),
  /**
   * Bitrix24's JS library (BX24.js) the install page loads inside the portal's frame; protocol-relative,
   * as Bitrix24 documents it. A local run points it at the emulator's stand-in, which answers the page's
   * calls (`init`, `installFinish`, `callMethod`) without leaving the machine.
   */
  BX24_LIBRARY_URL: pageUrl('//api.bitrix24.com/api/v1/'),
  /** Authorization server of an install frame that names none (`SERVER_ENDPOINT` absent). */
  DEFAULT_SERVER_ENDPOINT: url('https://oauth.bitrix.info/rest/'),
  /** How long a parked (not yet verified) install claim is retried before it is dropped; also its TTL. */
  PARKED_EVENT_MAX_AGE_DAYS: positive(7),
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
  OAUTH_COOKIE_SECURE: oneOf(['auto', 'true', 'false'], 'auto'),
} as const;

export type Config = SettingsOf<typeof schema>;

/**
 * Parses the environment into a frozen `Config`; a bad value fails the cold start with its name.
 *
 * @example
 * const config = loadConfig(); // module scope of a handler
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const result = parseSettings(schema, env);
  if (!result.ok) throw new ConfigError(`invalid configuration: ${result.problems}`);
  const config = result.value;
  if (config.BITRIX_HTTP_TIMEOUT_MS >= config.REFRESH_LEASE_SECONDS * 1000) {
    throw new ConfigError('invalid configuration: BITRIX_HTTP_TIMEOUT_MS must be shorter than REFRESH_LEASE_SECONDS');
  }
  for (const problem of refreshConfigProblems(config)) throw new ConfigError(`invalid configuration: ${problem}`);
  return Object.freeze(config);
}

/** The longest one DynamoDB call can take: every SDK attempt timing out (back-off between them is short). */
export function dynamoDbCallMs(
  c: Pick<Config, 'DYNAMODB_MAX_ATTEMPTS' | 'DYNAMODB_REQUEST_TIMEOUT_MS' | 'DYNAMODB_CONNECT_TIMEOUT_MS'>,
): number {
  return c.DYNAMODB_MAX_ATTEMPTS * (c.DYNAMODB_REQUEST_TIMEOUT_MS + c.DYNAMODB_CONNECT_TIMEOUT_MS);
}

/** Longest wait for another worker's refresh of the same token set: one lease plus the write. */
export function leaseWaitMs(c: Pick<Config, 'REFRESH_LEASE_SECONDS' | 'REFRESH_WRITE_ATTEMPTS'>): number {
  return c.REFRESH_LEASE_SECONDS * 1000 + c.REFRESH_WRITE_ATTEMPTS * 1000;
}

/**
 * What one refresh takes at most once it holds the lease, in the normal course: the authorization
 * server's answer and two DynamoDB calls (lease and write) at their deadlines.
 */
export function refreshBudgetMs(
  c: Pick<
    Config,
    'BITRIX_HTTP_TIMEOUT_MS' | 'DYNAMODB_MAX_ATTEMPTS' | 'DYNAMODB_REQUEST_TIMEOUT_MS' | 'DYNAMODB_CONNECT_TIMEOUT_MS'
  >,
): number {
  return c.BITRIX_HTTP_TIMEOUT_MS + 2 * dynamoDbCallMs(c);
}

/**
 * The token vendor's timeout: a wait for another worker's lease, then one refresh of its own, plus
 * 5 s for reads and the answer (65 s with the defaults: 34 + 8 + 18 + 5). A vendor cut off by its
 * timeout after the authorization server answered would lose the new pair, so it is never shorter.
 */
export function vendorTimeoutSeconds(c: Config): number {
  return Math.ceil((leaseWaitMs(c) + refreshBudgetMs(c) + 5000) / 1000);
}

/**
 * The event function's timeout: an uninstall of a portal without a stored application token waits
 * briefly for a running refresh, then refreshes once to prove the claim (34 s with the defaults:
 * 3 + 8 + 18 + 5). API Gateway answers Bitrix24 after 30 s at the latest; the function runs on until the
 * new pair is stored, since cutting it off after the authorization server answered would lose the pair.
 */
export function appEventsTimeoutSeconds(c: Config): number {
  return Math.ceil((UNINSTALL_PROOF_LEASE_WAIT_MS + refreshBudgetMs(c) + 5000) / 1000);
}

/** The DynamoDB client limits the configuration asks for. */
export function dynamoDbLimits(c: Config): DynamoDbClientLimits {
  return {
    requestTimeoutMs: c.DYNAMODB_REQUEST_TIMEOUT_MS,
    connectionTimeoutMs: c.DYNAMODB_CONNECT_TIMEOUT_MS,
    maxAttempts: c.DYNAMODB_MAX_ATTEMPTS,
  };
}

/**
 * Cross-field rules of the refresh settings: each one, broken, would make a token set due again the
 * moment it is refreshed, or let the refresh path conclude while another worker may still write.
 */
function refreshConfigProblems(c: Config): string[] {
  const problems: string[] = [];
  if (c.REFRESH_ACCESS_LEAD_MINUTES + c.REFRESH_ACCESS_JITTER_MINUTES >= 60) {
    problems.push(
      'REFRESH_ACCESS_LEAD_MINUTES + REFRESH_ACCESS_JITTER_MINUTES must be under the 60-minute access-token life',
    );
  }
  if (c.REFRESH_TOKEN_LEAD_DAYS + c.REFRESH_TOKEN_JITTER_HOURS / 24 >= c.REFRESH_TOKEN_LIFETIME_DAYS) {
    problems.push('REFRESH_TOKEN_LEAD_DAYS + REFRESH_TOKEN_JITTER_HOURS must be under REFRESH_TOKEN_LIFETIME_DAYS');
  }
  // The longest a pair can take to land after its lease ended: every write attempt and every park
  // attempt, each one DynamoDB call with all of the SDK's own attempts.
  const writeBudgetSeconds = (2 * c.REFRESH_WRITE_ATTEMPTS * dynamoDbCallMs(c)) / 1000;
  if (c.REFRESH_TAKEOVER_GRACE_SECONDS <= c.REFRESH_LEASE_SECONDS + writeBudgetSeconds) {
    problems.push(
      `REFRESH_TAKEOVER_GRACE_SECONDS must exceed REFRESH_LEASE_SECONDS + the write budget (${Math.ceil(writeBudgetSeconds)} s: REFRESH_WRITE_ATTEMPTS writes and parks of up to DYNAMODB_MAX_ATTEMPTS × (DYNAMODB_REQUEST_TIMEOUT_MS + DYNAMODB_CONNECT_TIMEOUT_MS) each)`,
    );
  }
  if (dynamoDbCallMs(c) >= c.REFRESH_LEASE_SECONDS * 1000) {
    problems.push('one DynamoDB call (DYNAMODB_MAX_ATTEMPTS × its timeouts) must end inside REFRESH_LEASE_SECONDS');
  }
  if (c.REFRESH_ON_DEMAND_PERCENT > 90) {
    problems.push('REFRESH_ON_DEMAND_PERCENT must be at most 90 (the sweep needs a share of the ceiling)');
  }
  if (c.REFRESH_SWEEP_MARGIN_SECONDS * 1000 <= c.BITRIX_HTTP_TIMEOUT_MS) {
    problems.push('REFRESH_SWEEP_MARGIN_SECONDS must exceed BITRIX_HTTP_TIMEOUT_MS');
  }
  if (c.REFRESH_RETRY_MAX_SECONDS < c.REFRESH_RETRY_BASE_SECONDS) {
    problems.push('REFRESH_RETRY_MAX_SECONDS must not be below REFRESH_RETRY_BASE_SECONDS');
  }
  return problems;
}
