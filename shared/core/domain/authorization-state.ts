import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * The secrets of one pending authorization: the OAuth `state` sent through the portal, and the
 * browser-binding value kept in a cookie. Both are 256-bit CSPRNG values in base64url (43 characters),
 * so they cannot be guessed and fit URLs and cookies unchanged.
 */

const OPAQUE = /^[A-Za-z0-9_-]{43}$/;

/** A new unguessable value for `state` or the browser binding. */
export function newOpaqueValue(): string {
  return randomBytes(32).toString('base64url');
}

/** Whether a value has the shape `newOpaqueValue` produces (checked before any lookup). */
export function isOpaqueValue(value: string | undefined): value is string {
  return value !== undefined && OPAQUE.test(value);
}

/** SHA-256 (hex) of the browser-binding value: only the hash is stored, never the cookie value. */
export function hashBrowserBinding(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** Whether the browser's binding value matches the stored hash, compared in constant time. */
export function browserBindingMatches(value: string | undefined, storedHash: string): boolean {
  if (!isOpaqueValue(value)) return false;
  const actual = Buffer.from(hashBrowserBinding(value), 'hex');
  const expected = Buffer.from(storedHash, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
