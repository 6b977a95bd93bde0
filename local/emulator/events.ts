import qs from 'qs';
import { AUTH_SERVER_HOSTS, type InstallationState } from './model.js';
import type { PortalState } from './state.js';
import type { GrantedTokens } from './tokens.js';

/** What an outbound POST (event or frame) got back. */
export interface DeliveryResult {
  /** HTTP status; 0 when the request failed (refused, reset, timed out). */
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  /** Why the request failed when `status` is 0. */
  readonly error?: string;
}

/** How much of the token pair an event's `auth` block carries (docs/PROTOCOL.md §4.2). */
export type EventTokens = 'none' | 'access' | 'full';

/** The User-Agent Bitrix24's queue servers send (docs/PROTOCOL.md §4.1). */
export const EVENT_USER_AGENT = 'Bitrix24 Webhook Engine';

/** Deep copy with every leaf as a string, as PHP form encoding delivers it. */
export function stringifyLeaves(value: unknown): unknown {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.map(stringifyLeaves);
  if (typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, stringifyLeaves(inner)]));
  }
  if (typeof value === 'boolean') return value ? '1' : '';
  return String(value);
}

/**
 * `application/x-www-form-urlencoded` with PHP bracket keys, keys and values percent-encoded
 * (`auth%5Baccess_token%5D=…`), spaces as `+` like PHP's `http_build_query`.
 */
export function encodeForm(payload: Readonly<Record<string, unknown>>): string {
  return qs.stringify(stringifyLeaves(payload), { format: 'RFC1738', arrayFormat: 'indices' });
}

/**
 * An event's `auth` block. Key order follows the real ONAPPINSTALL capture (docs/PROTOCOL.md §4.3);
 * without tokens, the ONAPPUNINSTALL order (§4.4).
 */
export function eventAuth(
  portal: PortalState,
  installation: InstallationState | undefined,
  tokens: GrantedTokens | undefined,
  mode: EventTokens,
): Record<string, string> {
  const authHost = AUTH_SERVER_HOSTS[portal.region];
  const applicationToken = installation?.applicationToken ?? '';
  if (mode === 'none' || tokens === undefined) {
    return {
      domain: portal.domain,
      client_endpoint: `https://${portal.domain}/rest/`,
      server_endpoint: `https://${authHost}/rest/`,
      member_id: portal.memberId,
      application_token: applicationToken,
    };
  }
  return {
    access_token: tokens.accessToken,
    expires: String(tokens.expires),
    expires_in: String(tokens.expiresIn),
    scope: tokens.scope,
    domain: portal.domain,
    server_endpoint: `https://${authHost}/rest/`,
    status: installation?.status ?? 'L',
    client_endpoint: `https://${portal.domain}/rest/`,
    member_id: portal.memberId,
    user_id: String(tokens.userId),
    ...(mode === 'full' ? { refresh_token: tokens.refreshToken } : {}),
    application_token: applicationToken,
  };
}

/** A stable `event_handler_id` per portal and event name (ids of the portal's event bindings). */
export function eventHandlerId(portal: PortalState, event: string): number {
  const existing = portal.eventHandlerIds.get(event);
  if (existing !== undefined) return existing;
  const id = portal.eventHandlerIds.size + 1;
  portal.eventHandlerIds.set(event, id);
  return id;
}

/** POSTs a body and reads the whole answer; never throws (failures come back as status 0). */
export async function postBody(
  url: string,
  body: string,
  contentType: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<DeliveryResult> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': contentType, 'user-agent': EVENT_USER_AGENT },
      body,
      // Bitrix24 does not follow redirects for events; the frame is a browser, but the emulator reports
      // what the install page answered, not where it pointed.
      redirect: 'manual',
      signal:
        signal === undefined
          ? AbortSignal.timeout(timeoutMs)
          : AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
    });
    const text = await response.text();
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      headers[name] = value;
    });
    return { status: response.status, headers, body: text };
  } catch (error) {
    return { status: 0, headers: {}, body: '', error: error instanceof Error ? error.message : String(error) };
  }
}
