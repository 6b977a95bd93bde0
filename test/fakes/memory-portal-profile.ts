import type { PortalProfile } from '#shared/core/ports/portal-profile.js';

/**
 * Answers that every token's user is an administrator: for tests whose authorization server is in
 * memory and whose subject is not who may change the application token (app-events.test.ts covers
 * that against the emulator's `profile`).
 */
export class MemoryPortalProfile implements PortalProfile {
  async isAdmin(): Promise<boolean> {
    return true;
  }
}
