import { BitrixRestError } from '#shared/core/domain/errors.js';
import type { PortalProfile } from '#shared/core/ports/portal-profile.js';

/** Answers whether a token's user is an administrator: every user is, unless told otherwise. */
export class MemoryPortalProfile implements PortalProfile {
  /** Access tokens whose user is not an administrator. */
  readonly notAdmins = new Set<string>();
  /** While set, every question fails as a portal that cannot be asked. */
  failWith: string | undefined;
  readonly asked: string[] = [];

  async isAdmin(input: { readonly clientEndpoint: string; readonly accessToken: string }): Promise<boolean> {
    this.asked.push(input.clientEndpoint);
    if (this.failWith !== undefined) throw new BitrixRestError(this.failWith, '', 0, 'profile');
    return !this.notAdmins.has(input.accessToken);
  }
}
