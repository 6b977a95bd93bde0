import type { AccessToken, GetAccessTokenInput } from '#shared/core/domain/access-token.js';
import { BitrixRestError, httpStatusCode, OWN_ERROR_CODES, ValidationError } from '#shared/core/domain/errors.js';
import { stringifyPhpForm } from '#shared/core/domain/php-form.js';
import { portalMoveAllowed } from '#shared/core/domain/portal-address.js';
import { sleep } from '#shared/core/domain/time.js';
import { restoreUrl, rewriteUrl } from '#shared/core/domain/url-rewrites.js';
import type { Logger } from '#shared/core/ports/logger.js';

/** Parameters of a REST method; nested objects and arrays are sent as PHP bracket keys. */
export type RestParams = Readonly<Record<string, unknown>>;

/** The `time` block Bitrix24 adds to every answer (operating-time budget included). */
export interface RestTime {
  readonly start?: number;
  readonly finish?: number;
  readonly duration?: number;
  readonly processing?: number;
  readonly operating?: number;
  readonly operating_reset_at?: number;
  readonly [key: string]: unknown;
}

/** A successful REST answer. List methods add `total` and, when more pages exist, `next`. */
export interface RestResult<T = unknown> {
  readonly result: T;
  readonly total?: number | undefined;
  readonly next?: number | undefined;
  readonly time?: RestTime | undefined;
}

/** One command of a batch. */
export interface BatchCommand {
  readonly method: string;
  readonly params?: RestParams;
}

/** One command's outcome: its result, or its own error (a batch answers HTTP 200 either way). */
export type BatchCommandResult<T = unknown> =
  | { readonly ok: true; readonly result: T; readonly total?: number | undefined; readonly next?: number | undefined }
  | { readonly ok: false; readonly error: BitrixRestError };

export interface CallOptions {
  /** Whose token to use; omitted: the portal's default user (see `getAccessToken`). */
  readonly userId?: number | undefined;
}

export interface BatchOptions extends CallOptions {
  /** Stop at the first failing command (`halt=1`); the commands after it come back as `not_executed`. @default false */
  readonly halt?: boolean;
}

/** What the REST client needs from the token side: `TokenClient` provides it. */
export interface AccessTokenSource {
  getAccessToken(input: GetAccessTokenInput): Promise<AccessToken>;
  portalMoved(memberId: string, previousClientEndpoint: string, clientEndpoint: string): Promise<void>;
}

export interface BitrixRestClientOptions {
  readonly tokens: AccessTokenSource;
  /** `BITRIX_URL_REWRITES`: transport-level redirection to an emulator or proxy. @default {} */
  readonly urlRewrites?: Readonly<Record<string, string>>;
  /**
   * `BITRIX_ON_PREMISE_PORTALS`: on-premise portals a redirect may lead to (besides the portal's own
   * host). @default [] (cloud portals move only within their zone, on-premise ones only on their host)
   */
  readonly onPremisePortals?: readonly string[];
  /** Timeout of one HTTP request. @default 30_000 */
  readonly timeoutMs?: number;
  /** Attempts while the portal answers `QUERY_LIMIT_EXCEEDED` / `OPERATION_TIME_LIMIT`. @default 4 */
  readonly maxAttempts?: number;
  /** Back-off: a random delay in [0, min(max, base·2ⁿ)] (full jitter). @default 1000 */
  readonly backoffBaseMs?: number;
  /** @default 15_000 */
  readonly backoffMaxMs?: number;
  readonly fetch?: typeof fetch;
  readonly sleep?: (ms: number) => Promise<void>;
  /** A number in [0, 1), for the jitter. @default Math.random */
  readonly random?: () => number;
  readonly logger?: Logger;
}

/** Codes after which the call is retried with a fresh token (once). */
const AUTH_ERRORS = new Set(['expired_token', 'invalid_token']);
/** Codes that mean "not now": the portal did not run the method, so a later attempt is safe. */
const RATE_ERRORS = new Set(['QUERY_LIMIT_EXCEEDED', 'OPERATION_TIME_LIMIT']);
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 3;
const BATCH_LIMIT = 50;
const METHOD = /^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/;

/**
 * A small Bitrix24 REST client over the token service: POSTs `{client_endpoint}{method}` with the
 * parameters and `auth` in a form body, with a timeout. On `expired_token` / `invalid_token` it asks for
 * a fresh token once (reporting the version it used, so only one refresh happens) and retries once.
 * `QUERY_LIMIT_EXCEEDED` and `OPERATION_TIME_LIMIT` are retried with jittered back-off. A 302 (the
 * portal was renamed) is followed by POSTing the same body to the new address, which is then stored,
 * but only within the portal's own Bitrix24 cloud zone over https (`portalMoveAllowed`): the body
 * carries the access token. Every other failure is a `BitrixRestError`.
 *
 * @example
 * const rest = new BitrixRestClient({ tokens });
 * const { result, total } = await rest.call(memberId, 'crm.lead.list', { select: ['ID', 'TITLE'] });
 */
export class BitrixRestClient {
  private readonly fetch: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly rewrites: Readonly<Record<string, string>>;

  constructor(private readonly options: BitrixRestClientOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
    this.sleep = options.sleep ?? sleep;
    this.random = options.random ?? Math.random;
    this.rewrites = options.urlRewrites ?? {};
  }

  /**
   * Calls one REST method.
   *
   * @throws BitrixRestError when the portal refuses the call or cannot be reached
   * @throws TokenUnavailableError / PortalNotFoundError when no token can be had (see `getAccessToken`)
   */
  async call<T = unknown>(
    memberId: string,
    method: string,
    params: RestParams = {},
    options: CallOptions = {},
  ): Promise<RestResult<T>> {
    assertMethod(method);
    const body = await this.send(memberId, method, params, options.userId);
    return {
      result: body.result as T,
      total: optionalNumber(body.total),
      next: optionalNumber(body.next),
      time: isRecord(body.time) ? (body.time as RestTime) : undefined,
    };
  }

  /**
   * Runs up to 50 commands in one request. The result has one entry per command name (array input:
   * its indexes), each `{ ok: true, result }` or `{ ok: false, error }`.
   *
   * @throws BitrixRestError when the batch request itself fails
   */
  async batch(
    memberId: string,
    commands: Readonly<Record<string, BatchCommand>> | readonly BatchCommand[],
    options: BatchOptions = {},
  ): Promise<Record<string, BatchCommandResult>> {
    const entries: [string, BatchCommand][] = Array.isArray(commands)
      ? commands.map((command, index) => [String(index), command])
      : Object.entries(commands as Readonly<Record<string, BatchCommand>>);
    if (entries.length === 0) throw new ValidationError('a batch needs at least one command');
    if (entries.length > BATCH_LIMIT) throw new ValidationError(`a batch takes at most ${BATCH_LIMIT} commands`);
    const cmd: Record<string, string> = {};
    for (const [name, command] of entries) {
      assertMethod(command.method);
      const query = stringifyPhpForm(command.params ?? {});
      cmd[name] = query === '' ? command.method : `${command.method}?${query}`;
    }
    const body = await this.send(memberId, 'batch', { halt: options.halt === true ? 1 : 0, cmd }, options.userId);
    const outer = isRecord(body.result) ? body.result : {};
    const results = recordOf(outer.result);
    const errors = recordOf(outer.result_error);
    const totals = recordOf(outer.result_total);
    const nexts = recordOf(outer.result_next);
    const out: Record<string, BatchCommandResult> = {};
    for (const [name, command] of entries) {
      const error = errors[name];
      if (isRecord(error)) {
        out[name] = { ok: false, error: restError(error, 200, command.method) };
      } else if (name in results) {
        out[name] = {
          ok: true,
          result: results[name],
          total: optionalNumber(totals[name]),
          next: optionalNumber(nexts[name]),
        };
      } else {
        out[name] = {
          ok: false,
          error: new BitrixRestError(
            OWN_ERROR_CODES.notExecuted,
            'the batch stopped before this command',
            0,
            command.method,
          ),
        };
      }
    }
    return out;
  }

  /** Token, rate-limit retries, the one refresh-and-retry, and redirects. Returns the parsed success body. */
  private async send(
    memberId: string,
    method: string,
    params: RestParams,
    userId: number | undefined,
  ): Promise<Record<string, unknown>> {
    const maxAttempts = this.options.maxAttempts ?? 4;
    let token = await this.options.tokens.getAccessToken({ memberId, userId });
    let refreshed = false;
    for (let attempt = 1; ; attempt += 1) {
      const answer = await this.post(token, method, params);
      if (answer.endpoint !== token.clientEndpoint) {
        // The portal moved: the retries below go to the new address straight away.
        token = Object.freeze({ ...token, clientEndpoint: answer.endpoint, domain: new URL(answer.endpoint).host });
      }
      if (answer.kind === 'ok') return answer.body;
      const error = answer.error;
      if (AUTH_ERRORS.has(error.error) && !refreshed) {
        // The token was refused (expired, or a refresh elsewhere killed it): report the version we used,
        // so the service refreshes only if nobody did already, and retry once.
        refreshed = true;
        token = await this.options.tokens.getAccessToken({
          memberId,
          userId: token.userId,
          staleVersion: token.version,
        });
        continue;
      }
      if (RATE_ERRORS.has(error.error) && attempt < maxAttempts) {
        const delay = this.backoff(attempt, answer.retryAfterMs);
        this.options.logger?.warn('portal rate limit; retrying', {
          memberId,
          method,
          error: error.error,
          attempt,
          delay,
        });
        await this.sleep(delay);
        continue;
      }
      throw error;
    }
  }

  /** Full jitter over an exponential ceiling; a `Retry-After` from the portal is the floor. */
  private backoff(attempt: number, retryAfterMs: number | undefined): number {
    const base = this.options.backoffBaseMs ?? 1000;
    const cap = this.options.backoffMaxMs ?? 15_000;
    const ceiling = Math.min(cap, base * 2 ** (attempt - 1));
    const delay = Math.floor(this.random() * ceiling);
    return retryAfterMs === undefined ? delay : Math.max(delay, Math.min(retryAfterMs, cap));
  }

  /** One POST, following renames (re-POSTing the same body) without ever letting fetch turn it into a GET. */
  private async post(token: AccessToken, method: string, params: RestParams): Promise<PostAnswer> {
    // `auth` goes last so a caller's parameter of that name cannot replace it.
    const body = stringifyPhpForm({ ...params, auth: token.accessToken });
    let endpoint = token.clientEndpoint;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop += 1) {
      const url = rewriteUrl(`${endpoint}${method}`, this.rewrites);
      let response: Response;
      let text: string;
      try {
        response = await this.fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body,
          redirect: 'manual',
          signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
        });
        text = await response.text();
      } catch (error) {
        const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
        throw new BitrixRestError(
          timedOut ? OWN_ERROR_CODES.timeout : OWN_ERROR_CODES.networkError,
          timedOut ? 'no answer in time' : 'request failed',
          0,
          method,
          {
            cause: error instanceof Error ? new Error(error.message) : undefined,
            details: { domain: token.domain },
          },
        );
      }
      if (REDIRECTS.has(response.status)) {
        const moved = this.movedEndpoint(response.headers.get('location'), url, endpoint, method);
        try {
          await this.options.tokens.portalMoved(token.memberId, endpoint, moved);
        } catch (error) {
          // The call can still succeed at the new address; the next 302 records it again.
          this.options.logger?.warn('recording the new portal address failed', {
            memberId: token.memberId,
            error: error instanceof Error ? error.name : String(error),
          });
        }
        this.options.logger?.warn('portal moved; following', {
          memberId: token.memberId,
          from: new URL(endpoint).host,
          to: new URL(moved).host,
        });
        endpoint = moved;
        continue;
      }
      const parsed = parseBody(text);
      if (parsed === undefined) {
        throw new BitrixRestError(
          response.ok ? OWN_ERROR_CODES.malformedResponse : httpStatusCode(response.status),
          response.ok ? 'the answer is not JSON' : 'unexpected HTTP status',
          response.status,
          method,
        );
      }
      // Some portals (and proxies) answer errors with HTTP 200: the body decides. Some methods answer
      // an empty `error` with a description (`crm.lead.get` of a missing id): still an error.
      if (typeof parsed.error === 'string' && (parsed.error !== '' || !response.ok)) {
        const error = restError(parsed, response.status, method);
        return { kind: 'error', error, retryAfterMs: retryAfter(response), endpoint };
      }
      if (!response.ok) {
        throw new BitrixRestError(httpStatusCode(response.status), 'unexpected HTTP status', response.status, method);
      }
      if (!('result' in parsed))
        throw new BitrixRestError(
          OWN_ERROR_CODES.malformedResponse,
          'the answer has no result',
          response.status,
          method,
        );
      return { kind: 'ok', body: parsed, endpoint };
    }
    throw new BitrixRestError(OWN_ERROR_CODES.tooManyRedirects, 'the portal keeps redirecting', 302, method);
  }

  /**
   * The portal's new REST base from a redirect's `Location`: the real URL (the transport's rewrite
   * undone), minus the method. Followed only when it keeps the `{base}{method}` shape and the move is
   * one a portal can make (`portalMoveAllowed`: https, the same cloud zone, or the same on-premise
   * host): the request carries the access token, so a redirect elsewhere is refused, never sent.
   */
  private movedEndpoint(location: string | null, requestUrl: string, endpoint: string, method: string): string {
    if (location === null || location === '') {
      throw new BitrixRestError(OWN_ERROR_CODES.malformedResponse, 'a redirect without a location', 302, method);
    }
    const target = restoreUrl(new URL(location, requestUrl).toString(), this.rewrites);
    const url = new URL(target);
    const previous = new URL(endpoint);
    if (
      !portalMoveAllowed(previous, url, this.options.onPremisePortals ?? []) ||
      !url.pathname.endsWith(`/${method}`)
    ) {
      throw new BitrixRestError(
        OWN_ERROR_CODES.unexpectedRedirect,
        'the portal redirected somewhere that is not its REST API',
        302,
        method,
        {
          details: { host: url.host },
        },
      );
    }
    return `${url.origin}${url.pathname.slice(0, url.pathname.length - method.length)}`;
  }
}

/** One POST's outcome; `endpoint` is where it finally answered (differs from the token's after a rename). */
type PostAnswer =
  | { readonly kind: 'ok'; readonly body: Record<string, unknown>; readonly endpoint: string }
  | {
      readonly kind: 'error';
      readonly error: BitrixRestError;
      readonly retryAfterMs: number | undefined;
      readonly endpoint: string;
    };

function assertMethod(method: string): void {
  if (typeof method !== 'string' || !METHOD.test(method))
    throw new ValidationError('method must be a REST method name like crm.lead.list');
}

function restError(body: Record<string, unknown>, status: number, method: string): BitrixRestError {
  const description = typeof body.error_description === 'string' ? body.error_description : '';
  const code =
    typeof body.error === 'string' && body.error !== '' ? body.error : status >= 400 ? httpStatusCode(status) : 'error';
  return new BitrixRestError(code, description, status, method);
}

function parseBody(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function retryAfter(response: Response): number | undefined {
  const value = response.headers.get('retry-after');
  if (value === null) return undefined;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** PHP sends an empty map as `[]` and a map with keys 0..n as a list: both read by key here. */
function recordOf(value: unknown): Record<string, unknown> {
  if (Array.isArray(value)) return Object.fromEntries(value.map((v, i) => [String(i), v]));
  return isRecord(value) ? value : {};
}

function optionalNumber(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}
