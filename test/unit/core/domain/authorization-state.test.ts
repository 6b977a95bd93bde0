import { describe, expect, it } from 'vitest';
import {
  browserBindingMatches,
  hashBrowserBinding,
  isOpaqueValue,
  newOpaqueValue,
} from '#shared/core/domain/authorization-state.js';

describe('authorization state values', () => {
  it('makes 256-bit base64url values that never repeat', () => {
    // Act
    const values = Array.from({ length: 1000 }, () => newOpaqueValue());

    // Assess
    expect(new Set(values).size).toBe(1000);
    for (const value of values) {
      expect(value).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(value, 'base64url')).toHaveLength(32);
    }
  });

  it('recognises only values of that shape', () => {
    expect(isOpaqueValue(newOpaqueValue())).toBe(true);
    expect(isOpaqueValue(undefined)).toBe(false);
    expect(isOpaqueValue('')).toBe(false);
    expect(isOpaqueValue('short')).toBe(false);
    expect(isOpaqueValue(`${newOpaqueValue()}x`)).toBe(false);
    expect(isOpaqueValue('+'.repeat(43))).toBe(false);
  });

  it('matches a binding only against the hash of the same value', () => {
    // Prepare
    const value = newOpaqueValue();
    const stored = hashBrowserBinding(value);

    // Assess
    expect(stored).toMatch(/^[0-9a-f]{64}$/);
    expect(stored).not.toContain(value);
    expect(browserBindingMatches(value, stored)).toBe(true);
    expect(browserBindingMatches(newOpaqueValue(), stored)).toBe(false);
    expect(browserBindingMatches(undefined, stored)).toBe(false);
    expect(browserBindingMatches(value, 'not-a-hash')).toBe(false);
  });
});
