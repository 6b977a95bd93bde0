import { describe, expect, it } from 'vitest';
import { tokenSetFromItem } from '#shared/adapters/dynamodb/codec.js';
import { ItemReader } from '#shared/adapters/dynamodb/item-reader.js';
import { StoredItemError } from '#shared/core/domain/errors.js';
import { TOKEN_STATUSES } from '#shared/core/domain/token-set.js';

const SECRET = 'refresh-token-value-that-must-not-appear';

/** A token-set item as the repository writes it. */
function tokenItem(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    pk: 'PORTAL#abc',
    sk: 'TOKEN#1',
    memberId: 'abc',
    userId: 1,
    accessToken: 'access',
    refreshToken: SECRET,
    accessExpiresAt: 2,
    refreshIssuedAt: 1,
    refreshExpiresAt: 3,
    clientEndpoint: 'https://a.bitrix24.com/rest/',
    serverEndpoint: 'https://oauth.bitrix.info/rest/',
    domain: 'a.bitrix24.com',
    status: 'active',
    source: 'refresh',
    version: 4,
    consecutiveFailures: 0,
    createdAt: 1,
    updatedAt: 1,
    ...overrides,
  };
}

function failureOf(fn: () => unknown): StoredItemError {
  try {
    fn();
  } catch (error) {
    if (error instanceof StoredItemError) return error;
    throw error;
  }
  throw new Error('did not throw');
}

describe('ItemReader', () => {
  it('reads a well-formed token-set item into the domain shape', () => {
    // Act
    const tokenSet = tokenSetFromItem(
      tokenItem({ dueAt: 5, lastFailure: { category: 'transient', code: 'timeout', message: 'm', at: 1 } }),
    );

    // Assess
    expect(tokenSet).toMatchObject({ memberId: 'abc', userId: 1, status: 'active', nextRefreshAt: 5, version: 4 });
    expect(tokenSet.lastFailure).toEqual({ category: 'transient', code: 'timeout', message: 'm', at: 1 });
  });

  it('names the item and the attribute of a missing, mistyped or unknown value, never the value', () => {
    // Act
    const missing = failureOf(() => tokenSetFromItem(tokenItem({ refreshToken: undefined })));
    const mistyped = failureOf(() => tokenSetFromItem(tokenItem({ version: '4' })));
    const unknownStatus = failureOf(() => tokenSetFromItem(tokenItem({ status: SECRET })));
    const nested = failureOf(() => tokenSetFromItem(tokenItem({ lastFailure: { category: 'x', code: 1 } })));

    // Assess
    expect(missing.message).toBe('stored token set PORTAL#abc/TOKEN#1: refreshToken is missing');
    expect(mistyped.message).toBe('stored token set PORTAL#abc/TOKEN#1: version is not a number');
    expect(unknownStatus.message).toBe(
      'stored token set PORTAL#abc/TOKEN#1: status has a value the service does not know',
    );
    expect(nested.message).toBe('stored token set PORTAL#abc/TOKEN#1 lastFailure: code is not a string');
    for (const error of [missing, mistyped, unknownStatus, nested]) {
      expect(error.code).toBe('corrupt');
      expect(JSON.stringify(error)).not.toContain(SECRET);
      expect(error.message).not.toContain(SECRET);
    }
  });

  it('checks enum values against the constant and lists of strings element by element', () => {
    // Prepare
    const read = new ItemReader({ status: 'degraded', list: ['a', 2] }, 'thing');

    // Act / Assess
    expect(read.oneOf('status', TOKEN_STATUSES)).toBe('degraded');
    expect(() => read.stringList('list')).toThrow('stored thing: list is not a list of strings');
    expect(read.optionalNumber('absent')).toBeUndefined();
    expect(() => new ItemReader({ n: Number.NaN }, 'thing').number('n')).toThrow('n is not a number');
  });
});
