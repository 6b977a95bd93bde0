import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * The `application_token` Bitrix24 sends with every event of one installation. It is the only proof an
 * ONAPPUNINSTALL carries, so only its SHA-256 is stored: a leaked table does not let anybody forge
 * events, and comparing hashes of equal length in constant time reveals nothing through timing.
 */

/** SHA-256 of the application token, hex. */
export function hashApplicationToken(applicationToken: string): string {
  return createHash('sha256').update(applicationToken, 'utf8').digest('hex');
}

/**
 * Whether `applicationToken` is the one whose hash is stored. Constant time in the token's content;
 * an absent stored hash never matches (fail closed).
 */
export function applicationTokenMatches(applicationToken: string, storedHash: string | undefined): boolean {
  if (storedHash === undefined || !/^[0-9a-f]{64}$/.test(storedHash)) return false;
  const presented = createHash('sha256').update(applicationToken, 'utf8').digest();
  return timingSafeEqual(presented, Buffer.from(storedHash, 'hex'));
}

/**
 * What a verified install claim may do to the stored application token (docs/LIFECYCLE.md, "The
 * application token"). Whoever holds a refresh token of the app for the portal — any employee who
 * opens it — can make a claim verify, so a verified claim proves nothing about who sent it:
 * - `keep`: the claim brings no new token (the frame, whose POST is a user's, never sets one; or the
 *   same token again);
 * - `needs_admin`: an event brings a new token (a first install, a reinstall, an update): stored only
 *   when the claim's user is an administrator of the portal, as the installing or updating user is.
 */
export function applicationTokenChange(input: {
  readonly fromFrame: boolean;
  readonly claimedHash: string | undefined;
  readonly storedHash: string | undefined;
}): 'keep' | 'needs_admin' {
  if (input.fromFrame || input.claimedHash === undefined || input.claimedHash === input.storedHash) return 'keep';
  return 'needs_admin';
}
