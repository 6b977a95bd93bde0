import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '#shared/adapters/dynamodb/paging.js';
import { ValidationError } from '#shared/core/domain/errors.js';

describe('cursor codec', () => {
  it('round-trips a LastEvaluatedKey and encodes "no more pages" as undefined', () => {
    // Prepare
    const key = { pk: 'PORTAL#abc', sk: 'TOKEN#1', dueShard: 'DUE#2', dueAt: 17 };

    // Act / Assess
    expect(decodeCursor(encodeCursor(key))).toEqual(key);
    expect(encodeCursor(undefined)).toBeUndefined();
    expect(decodeCursor(undefined)).toBeUndefined();
  });

  it('refuses a cursor it did not hand out with a ValidationError', () => {
    // Act / Assess
    for (const cursor of [
      '%%%',
      Buffer.from('[1,2]').toString('base64url'),
      Buffer.from('{"a":{"b":1}}').toString('base64url'),
    ]) {
      expect(() => decodeCursor(cursor)).toThrow(ValidationError);
    }
  });
});
