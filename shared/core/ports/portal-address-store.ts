import type { EpochMs } from '#shared/core/domain/time.js';
/** A portal's move to a new address, as a REST call's 302 revealed it. */
export interface PortalAddressInput {
  /** The address the call went to, e.g. `https://old.bitrix24.com/rest/`. */
  readonly previousClientEndpoint: string;
  /** The address the portal redirected to, e.g. `https://new.bitrix24.com/rest/`. */
  readonly clientEndpoint: string;
  readonly now: EpochMs;
}

/**
 * Where a portal's address is kept (installation and token sets). Portals are keyed by `member_id`,
 * which survives a rename; the address is an attribute that follows it.
 *
 * @example
 * await store.updatePortalAddress(memberId, {
 *   previousClientEndpoint: 'https://old.bitrix24.com/rest/',
 *   clientEndpoint: 'https://new.bitrix24.com/rest/',
 *   now: Date.now(),
 * });
 */
export interface PortalAddressStore {
  /**
   * Records the new address on the installation and on every token set of the portal that still has
   * `previousClientEndpoint`. Does not move `version` (the tokens did not change); a late report
   * (the address changed already) writes nothing.
   */
  updatePortalAddress(memberId: string, input: PortalAddressInput): Promise<void>;
}
