/**
 * Asks a portal's old address where it went. A renamed portal's old host answers every path with a
 * redirect to the same path on its new host (PROTOCOL.md §3.2), without any token: so a reported move
 * can be checked before it is stored, and no token goes to an address nobody vouched for.
 *
 * @example
 * const target = await probe.movedTo('https://old.bitrix24.com/rest/');
 * // → 'https://new.bitrix24.com/rest/', or undefined when the old address does not redirect
 */
export interface PortalProbe {
  /** The REST base `clientEndpoint` redirects to, or `undefined` when it does not redirect to a REST base. */
  movedTo(clientEndpoint: string): Promise<string | undefined>;
}
