import type { APIGatewayProxyEventHeaders, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { AuthorizationOutcome } from '#shared/core/use-cases/complete-authorization.js';
import { escapeHtml, htmlPage } from './responses.js';

/**
 * The browser side of the OAuth flow: the binding cookie and the pages a person sees. Pages link
 * relatively (`start?portal=…`), so they work under any API path prefix.
 */

/** Cookie name when `Secure`: the `__Host-` prefix also pins it to our host and `Path=/`. */
export const SECURE_BINDING_COOKIE = '__Host-b24_oauth_binding';
/** Cookie name on plain http (local runs), where the `__Host-` prefix is not allowed. */
export const PLAIN_BINDING_COOKIE = 'b24_oauth_binding';

/**
 * Content-Security-Policy of every OAuth page: inline styles only, no scripts, no framing. No
 * `form-action`: browsers apply it to the redirects after a submit too, and the start form's answer
 * is a redirect to the portal.
 */
const PAGE_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
  'X-Frame-Options': 'DENY',
};

/**
 * Whether the binding cookie gets `Secure`: from `OAUTH_COOKIE_SECURE`, or with `auto` from the scheme
 * API Gateway reports (`x-forwarded-proto`); when the scheme is unknown, it is Secure.
 */
export function cookieSecure(setting: 'auto' | 'true' | 'false', headers: APIGatewayProxyEventHeaders): boolean {
  if (setting !== 'auto') return setting === 'true';
  const proto = headers['x-forwarded-proto']?.split(',')[0]?.trim().toLowerCase();
  return proto !== 'http';
}

/** `Set-Cookie` value of the browser binding: HttpOnly, SameSite=Lax (survives the top-level redirect back from the portal). */
export function bindingCookie(value: string, options: { secure: boolean; maxAgeSeconds: number }): string {
  const name = options.secure ? SECURE_BINDING_COOKIE : PLAIN_BINDING_COOKIE;
  return `${name}=${value}; Path=/; Max-Age=${options.maxAgeSeconds}; HttpOnly; SameSite=Lax${options.secure ? '; Secure' : ''}`;
}

/** The binding cookie's value from API Gateway's `cookies`, whichever of the two names it has. */
export function readBindingCookie(cookies: readonly string[] | undefined): string | undefined {
  for (const name of [SECURE_BINDING_COOKIE, PLAIN_BINDING_COOKIE]) {
    const prefix = `${name}=`;
    const cookie = cookies?.find((c) => c.trim().startsWith(prefix));
    // Our values are base64url: taken verbatim, anything else fails the later shape check.
    if (cookie !== undefined) return cookie.trim().slice(prefix.length);
  }
  return undefined;
}

function startLink(portal: string | undefined, label = 'Start again'): string {
  const href = portal === undefined ? 'start' : `start?${new URLSearchParams({ portal }).toString()}`;
  return `<p><a class="button" href="${escapeHtml(href)}">${escapeHtml(label)}</a></p>`;
}

function page(statusCode: number, title: string, paragraphs: string[], portal: string | undefined, link = true) {
  const ok = statusCode < 400;
  return htmlPage({
    statusCode,
    title,
    headers: PAGE_HEADERS,
    bodyHtml: `<h1 class="${ok ? 'ok' : 'err'}">${escapeHtml(title)}</h1>
${paragraphs.map((p) => `<p>${p}</p>`).join('\n')}
${link ? startLink(portal) : ''}`,
  });
}

/**
 * The form that asks for the portal address (GET `start?portal=…`); with `error`, the 400 page that
 * explains what is wrong with the address typed.
 */
export function startFormPage(options: { error?: string; portal?: string } = {}): APIGatewayProxyStructuredResultV2 {
  const error = options.error === undefined ? '' : `<p class="err">${escapeHtml(options.error)}</p>\n`;
  return htmlPage({
    statusCode: options.error === undefined ? 200 : 400,
    title: 'Connect your Bitrix24',
    headers: PAGE_HEADERS,
    bodyHtml: `<h1>Connect your Bitrix24</h1>
${error}<form method="get" action="start">
<label for="portal">Your Bitrix24 address</label><br>
<input id="portal" name="portal" size="40" placeholder="yourcompany.bitrix24.com" value="${escapeHtml(options.portal ?? '')}" required>
<button type="submit">Connect</button>
</form>
<p>On-premise portals: enter the host name and, if it is not 443, the port (<code>crm.example.com:8443</code>).</p>`,
  });
}

/**
 * The page that ends the callback, with its status: 200 connected, 400 bad or stale input (an unknown
 * state, a reload included, gets one neutral page; no callback at all), 403 wrong browser, untrusted
 * server, refused app or declined consent, 502 server failure.
 */
export function authorizationPage(outcome: AuthorizationOutcome): APIGatewayProxyStructuredResultV2 {
  const portal = 'portal' in outcome ? outcome.portal : undefined;
  const name = portal === undefined ? 'your portal' : `<strong>${escapeHtml(portal)}</strong>`;
  const nothingStored = 'Nothing was stored.';
  switch (outcome.kind) {
    case 'connected':
      return page(200, 'Your Bitrix24 is connected', [`${name} is connected. You can close this tab.`], portal, false);
    case 'not_a_callback':
      return page(
        400,
        'Nothing to finish here',
        [
          'Bitrix24 sends you here after you allow the app on your portal; opened by itself, this address has nothing to finish.',
          'To connect a portal, start from the address form.',
        ],
        undefined,
      );
    case 'refused_by_portal':
      return outcome.error === 'access_denied'
        ? page(
            403,
            'The authorization was declined',
            [
              `The authorization was declined on ${name} (<code>access_denied</code>): the app was not allowed, or this user may not use it.`,
              `${nothingStored} Ask an administrator of the portal to allow the app, then start again.`,
            ],
            portal,
          )
        : page(
            400,
            'Bitrix24 did not authorize the app',
            [
              `${name} answered with the error <code>${escapeHtml(outcome.error)}</code> instead of an authorization code.`,
              `${nothingStored} Please start again.`,
            ],
            portal,
          );
    case 'state_unknown':
      // One page whatever the query says: it names no portal and tells nothing about stored tokens.
      return page(
        400,
        'This link is no longer valid',
        [
          `This authorization link was already used, has expired, or was not started here. ${nothingStored}`,
          'If you have just connected your Bitrix24, nothing more is needed: you can close this tab. Otherwise, please start again.',
        ],
        undefined,
      );
    case 'invalid_request':
      return page(
        400,
        'This link is incomplete',
        [`${escapeHtml(outcome.problem)}. ${nothingStored} Please start again.`],
        portal,
      );
    case 'state_expired':
      return page(
        400,
        'The authorization took too long',
        [`The authorization was not finished in time. ${nothingStored} Please start again.`],
        portal,
      );
    case 'browser_mismatch':
      return page(
        403,
        'Please finish in the same browser',
        [
          'This authorization was started in another browser, or its cookie was removed.',
          `${nothingStored} Start again in this browser.`,
        ],
        portal,
      );
    case 'server_not_allowed':
      return page(
        403,
        'Unknown authorization server',
        [
          `Bitrix24 sent us to the authorization server <code>${escapeHtml(outcome.serverDomain)}</code>, which this service does not trust.`,
          `${nothingStored} If your portal really uses this server, ask the service's administrator to allow it.`,
        ],
        portal,
      );
    case 'code_expired':
      return page(
        400,
        'The authorization code has expired',
        [
          `Bitrix24 codes are valid for 30 seconds and only once; this one expired or was already used. ${nothingStored} Please start again.`,
        ],
        portal,
      );
    case 'denied':
      return page(
        403,
        'Bitrix24 refused the application',
        [
          outcome.reason === 'payment_required'
            ? `The application's subscription or trial for ${name} has ended. Renew it in Bitrix24, then start again.`
            : `The application is not installed on ${name}, or its credentials have changed. Install the application on the portal, then start again.`,
          nothingStored,
        ],
        portal,
      );
    case 'member_mismatch':
      return page(
        400,
        'The link does not match your portal',
        [
          `The portal named in this link is not the one Bitrix24 confirmed. ${nothingStored} Please start again from your portal.`,
        ],
        portal,
      );
    case 'server_failed':
      return page(
        502,
        'Bitrix24 did not answer',
        [
          `The Bitrix24 authorization server failed or did not answer in time. ${nothingStored} Please start again in a minute.`,
        ],
        portal,
      );
  }
}
