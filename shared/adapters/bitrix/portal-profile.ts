import { BitrixRestError, httpStatusCode, OWN_ERROR_CODES } from '#shared/core/domain/errors.js';
import { rewriteUrl } from '#shared/core/domain/url-rewrites.js';
import type { PortalProfile } from '#shared/core/ports/portal-profile.js';

export interface HttpPortalProfileOptions {
  readonly urlRewrites?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

/**
 * `PortalProfile` over HTTP: one POST of `profile` to the portal's REST base, the token in the form
 * body (never in the URL). Redirects are not followed: the address comes from the authorization
 * server's answer, and a portal that moved is asked again after its next refresh.
 *
 * @example
 * const profiles = new HttpPortalProfile({ timeoutMs: 8000 });
 */
export class HttpPortalProfile implements PortalProfile {
  private readonly fetch: typeof fetch;

  constructor(private readonly options: HttpPortalProfileOptions = {}) {
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  async isAdmin(input: { readonly clientEndpoint: string; readonly accessToken: string }): Promise<boolean> {
    const base = new URL(input.clientEndpoint);
    if (base.protocol !== 'https:') {
      throw new BitrixRestError(OWN_ERROR_CODES.unexpectedRedirect, 'the portal address is not https', 0, 'profile');
    }
    const url = rewriteUrl(new URL('profile', base).toString(), this.options.urlRewrites ?? {});
    let response: Response;
    let body: unknown;
    try {
      response = await this.fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ auth: input.accessToken }).toString(),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 8000),
      });
    } catch (error) {
      throw new BitrixRestError(transportCode(error), 'the portal could not be asked', 0, 'profile');
    }
    if (response.status >= 300 && response.status < 400) {
      throw new BitrixRestError(
        OWN_ERROR_CODES.unexpectedRedirect,
        'the portal answered a redirect',
        response.status,
        'profile',
      );
    }
    try {
      body = JSON.parse(await response.text());
    } catch (error) {
      throw new BitrixRestError(transportCode(error), 'the portal could not be asked', 0, 'profile');
    }
    const answer = (body ?? {}) as { result?: { ADMIN?: unknown }; error?: unknown; error_description?: unknown };
    if (typeof answer.error === 'string') {
      throw new BitrixRestError(
        answer.error,
        typeof answer.error_description === 'string' ? answer.error_description : '',
        response.status,
        'profile',
      );
    }
    if (!response.ok || typeof answer.result?.ADMIN !== 'boolean') {
      throw new BitrixRestError(
        response.ok ? OWN_ERROR_CODES.malformedResponse : httpStatusCode(response.status),
        'no profile in the answer',
        response.status,
        'profile',
      );
    }
    return answer.result.ADMIN;
  }
}

/** Our code for an answer that never arrived whole: timed out, cut off, or not JSON. */
function transportCode(error: unknown): string {
  if (error instanceof SyntaxError) return OWN_ERROR_CODES.malformedResponse;
  const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
  return timedOut ? OWN_ERROR_CODES.timeout : OWN_ERROR_CODES.networkError;
}
