import { domainToASCII } from 'node:url';
import { ValidationError } from './errors.js';

/**
 * A Bitrix24 portal address as a user types it: a host name, optionally with a port for on-premise
 * portals (`portal.example.com:8443`). Nothing else: the address ends up in a redirect to
 * `https://{address}/oauth/authorize/`, so a scheme, path, query, user info or IP literal would let a
 * link send the browser somewhere other than a portal.
 */

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const MAX_HOST_LENGTH = 253;

/**
 * The zones of the Bitrix24 cloud: a cloud portal is `{name}.bitrix24.{zone}`, one label before
 * `bitrix24`. The list and its sources are in docs/OAUTH.md ("Which portals"). Hosts such as
 * `*.bitrix24.site` or `*.bitrix24.shop` are sites built with Bitrix24, not portals.
 */
export const BITRIX24_CLOUD_ZONES: readonly string[] = [
  'com',
  'de',
  'eu',
  'es',
  'com.br',
  'fr',
  'it',
  'com.tr',
  'pl',
  'ru',
  'ua',
  'by',
  'kz',
  'in',
  'cn',
  'id',
  'vn',
  'jp',
  'uk',
];

const CLOUD_HOST = new RegExp(
  `^(?!-)[a-z0-9-]{1,63}(?<!-)\\.bitrix24\\.(${BITRIX24_CLOUD_ZONES.map((zone) => zone.replace('.', '\\.')).join('|')})$`,
);

/**
 * Validates and normalises a portal address: lower case, no trailing dot, IDN converted to punycode,
 * default port 443 dropped. Throws `ValidationError` with a message fit for the user.
 *
 * @example
 * parsePortalAddress(' Alpha.Bitrix24.com ') // → 'alpha.bitrix24.com'
 * parsePortalAddress('crm.example.org:8443') // → 'crm.example.org:8443'
 * parsePortalAddress('https://evil.example/') // throws ValidationError
 */
export function parsePortalAddress(input: string): string {
  const text = input.trim();
  if (text.length === 0) throw new ValidationError('enter your Bitrix24 address, e.g. yourcompany.bitrix24.com');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text) || text.startsWith('//')) {
    throw new ValidationError('enter the address without http:// or https://, e.g. yourcompany.bitrix24.com');
  }
  // Each of these would change what the browser treats as the host once placed in a URL.
  if (/[\s/\\?#@%[\]]/.test(text)) {
    throw new ValidationError('enter only the host name (and port), without a path, query, user name or spaces');
  }
  const match = /^([^:]+)(?::(\d{1,5}))?$/.exec(text);
  if (match === null) throw new ValidationError('the address is not a host name with an optional port');
  const [, rawHost = '', rawPort] = match;
  const host = toAsciiHost(rawHost);
  const port = rawPort === undefined ? undefined : Number(rawPort);
  if (port !== undefined && (port < 1 || port > 65535 || rawPort !== String(port))) {
    throw new ValidationError('the port must be a number from 1 to 65535');
  }
  return port === undefined || port === 443 ? host : `${host}:${port}`;
}

function toAsciiHost(raw: string): string {
  let host = raw.toLowerCase().replace(/\.$/, '');
  // Only non-ASCII names go through the WHATWG converter: for ASCII input it would also turn
  // `0x7f.1` or `2130706433` into an IPv4 address, which we refuse below instead.
  if (/\P{ASCII}/u.test(host)) {
    host = domainToASCII(host);
    if (host === '') throw new ValidationError('the address is not a valid international domain name');
  }
  if (host.length > MAX_HOST_LENGTH) throw new ValidationError('the address is too long');
  const labels = host.split('.');
  if (labels.length < 2)
    throw new ValidationError('enter the full address with its domain, e.g. yourcompany.bitrix24.com');
  if (!labels.every((label) => LABEL.test(label))) {
    throw new ValidationError('the address may contain only letters, digits, hyphens and dots');
  }
  // A numeric last label means an IP address in some notation (127.0.0.1, 0x7f.1, 1.2.3.0x4): refused,
  // portals are reached by name.
  const tld = labels[labels.length - 1] ?? '';
  if (/^(\d+|0x[0-9a-f]*)$/.test(tld)) throw new ValidationError('enter the portal by name, not by IP address');
  return host;
}

/**
 * The cloud zone of a Bitrix24 cloud portal's address (`alpha.bitrix24.de` → `de`), or undefined for
 * anything else: another host, a deeper name (`a.b.bitrix24.com`), or an address with a port. Expects
 * a normalised address (`parsePortalAddress`).
 *
 * @example
 * cloudZoneOf('alpha.bitrix24.com.br') // → 'com.br'
 * cloudZoneOf('crm.example.org') // → undefined
 */
export function cloudZoneOf(address: string): string | undefined {
  return CLOUD_HOST.exec(address)?.[1];
}

/**
 * Validates a portal address (`parsePortalAddress`) and checks that the service may send a browser or
 * a REST call there: a Bitrix24 cloud portal, or an on-premise portal the operator listed in
 * `BITRIX_ON_PREMISE_PORTALS` (normalised addresses, exact match including the port). Throws
 * `ValidationError` with a message fit for the user.
 *
 * @example
 * parseAllowedPortal('Alpha.Bitrix24.de', []) // → 'alpha.bitrix24.de'
 * parseAllowedPortal('crm.example.org:8443', ['crm.example.org:8443']) // → 'crm.example.org:8443'
 * parseAllowedPortal('evil.example', []) // throws ValidationError
 */
export function parseAllowedPortal(input: string, onPremisePortals: readonly string[]): string {
  const address = parsePortalAddress(input);
  if (cloudZoneOf(address) !== undefined || onPremisePortals.includes(address)) return address;
  throw new ValidationError(
    'this is not a Bitrix24 cloud address (yourcompany.bitrix24.com, .de, .eu, .ru, …). An on-premise portal ' +
      "must first be added to this service's list of portals by its administrator",
  );
}

/**
 * Whether a REST call to the portal at `from` may follow a redirect to `to` (a renamed portal answers
 * 302 with its new address, and the call is sent again there with its access token). Only https; a
 * cloud portal only to another portal name of the same cloud zone; an on-premise portal only to its
 * own host (a changed path, or http → https) or to another address of `onPremisePortals`. No user
 * info in the target. docs/CONSUMERS.md says why.
 *
 * @example
 * portalMoveAllowed(new URL('https://old.bitrix24.com/rest/'), new URL('https://new.bitrix24.com/rest/profile'), []) // → true
 * portalMoveAllowed(new URL('https://old.bitrix24.com/rest/'), new URL('https://old.bitrix24.de/rest/profile'), []) // → false
 */
export function portalMoveAllowed(from: URL, to: URL, onPremisePortals: readonly string[]): boolean {
  if (to.protocol !== 'https:' || to.username !== '' || to.password !== '') return false;
  const zone = cloudZoneOf(from.host);
  if (zone !== undefined) return cloudZoneOf(to.host) === zone;
  return to.host === from.host || onPremisePortals.includes(to.host);
}
