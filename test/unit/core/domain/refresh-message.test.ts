import { describe, expect, it } from 'vitest';
import { ValidationError } from '#shared/core/domain/errors.js';
import { decodeRefreshMessage, encodeRefreshMessage } from '#shared/core/domain/refresh-message.js';

describe('refresh messages', () => {
  it('carry a key and a due time, and read back as they were written', () => {
    // Prepare
    const request = { memberId: 'a223c6b3710f85df22e9377d6c4f7553', userId: 7, dueAt: 1_772_323_200_000 };

    // Act
    const body = encodeRefreshMessage(request);

    // Assess
    expect(JSON.parse(body)).toEqual({ v: 1, ...request });
    expect(decodeRefreshMessage(body)).toEqual(request);
  });

  it.each([
    ['not json', 'is not JSON'],
    ['[1]', 'unknown version'],
    ['{"v":2,"memberId":"a","userId":1,"dueAt":1}', 'unknown version'],
    ['{"v":1,"memberId":"../x","userId":1,"dueAt":1}', 'memberId'],
    ['{"v":1,"memberId":"a","userId":-1,"dueAt":1}', 'userId'],
    ['{"v":1,"memberId":"a","userId":1}', 'dueAt'],
  ])('refuses %s', (body, message) => {
    expect(() => decodeRefreshMessage(body)).toThrow(ValidationError);
    expect(() => decodeRefreshMessage(body)).toThrow(message);
  });
});
