/**
 * Asks a portal about the user an access token belongs to (REST `profile`, docs/PROTOCOL.md §6).
 * Throws `BitrixRestError` when the portal cannot be asked or refuses.
 *
 * @example
 * const admin = await profiles.isAdmin({ clientEndpoint: 'https://alpha.bitrix24.com/rest/', accessToken });
 */
export interface PortalProfile {
  /** Whether the token's user is an administrator of the portal. */
  isAdmin(input: { readonly clientEndpoint: string; readonly accessToken: string }): Promise<boolean>;
}
