import { describe, expect, it } from 'vitest';
import {
  LeaseHeldError,
  PortalNotFoundError,
  TokenRefreshError,
  TokenUnavailableError,
  ValidationError,
} from '#shared/core/domain/errors.js';
import {
  errorAnswer,
  parseVendorRequest,
  readDoneAnswer,
  readTokenAnswer,
  tokenAnswer,
  vendorPayload,
} from '#shared/core/domain/vendor-contract.js';

const MEMBER = 'a223c6b3710f85df22e9377d6c4f7553';
const TOKEN = {
  accessToken: 'at',
  expiresAt: 1_000,
  clientEndpoint: 'https://portal.bitrix24.com/rest/',
  domain: 'portal.bitrix24.com',
  memberId: MEMBER,
  userId: 1,
  version: 3,
};

function refusal(payload: unknown): { field: unknown; code: unknown } {
  try {
    parseVendorRequest(payload);
  } catch (error) {
    if (error instanceof ValidationError) return { field: error.details.field, code: error.details.code };
    throw error;
  }
  throw new Error('accepted');
}

describe('parseVendorRequest', () => {
  it('reads a getAccessToken request with its defaults (v 1, action getAccessToken) and seconds as ms', () => {
    // Act
    const request = parseVendorRequest({ memberId: MEMBER, minValiditySeconds: 600, staleVersion: 7, extra: 'x' });

    // Assess
    expect(request).toEqual({
      action: 'getAccessToken',
      memberId: MEMBER,
      userId: undefined,
      staleVersion: 7,
      minValidityMs: 600_000,
    });
  });

  it('reads recordUse and portalMoved', () => {
    // Act / Assess
    expect(parseVendorRequest({ v: 1, action: 'recordUse', memberId: MEMBER, userId: 2 })).toEqual({
      action: 'recordUse',
      memberId: MEMBER,
      userId: 2,
    });
    expect(
      parseVendorRequest({
        action: 'portalMoved',
        memberId: MEMBER,
        previousClientEndpoint: 'https://old.bitrix24.com/rest/',
        clientEndpoint: 'https://new.bitrix24.com/rest/',
      }),
    ).toMatchObject({ action: 'portalMoved', clientEndpoint: 'https://new.bitrix24.com/rest/' });
  });

  it.each([
    [null, 'payload'],
    [[], 'payload'],
    [{}, 'memberId'],
    [{ memberId: 'a b' }, 'memberId'],
    [{ memberId: MEMBER, userId: 1.5 }, 'userId'],
    [{ memberId: MEMBER, userId: '1' }, 'userId'],
    [{ memberId: MEMBER, staleVersion: -1 }, 'staleVersion'],
    [{ memberId: MEMBER, minValiditySeconds: 1801 }, 'minValiditySeconds'],
    [{ memberId: MEMBER, action: 'delete' }, 'action'],
    [{ memberId: MEMBER, action: 'recordUse' }, 'userId'],
    [
      {
        memberId: MEMBER,
        action: 'portalMoved',
        previousClientEndpoint: 'https://a.bitrix24.com/rest/',
        clientEndpoint: 'https://a.bitrix24.com/rest/',
      },
      'clientEndpoint',
    ],
    [
      {
        memberId: MEMBER,
        action: 'portalMoved',
        previousClientEndpoint: 'https://a.bitrix24.com/rest/',
        clientEndpoint: 'https://user:pw@b.bitrix24.com/rest/',
      },
      'clientEndpoint',
    ],
    [
      {
        memberId: MEMBER,
        action: 'portalMoved',
        previousClientEndpoint: 'ftp://a.bitrix24.com/rest/',
        clientEndpoint: 'https://b.bitrix24.com/rest/',
      },
      'previousClientEndpoint',
    ],
  ])('refuses %j naming the field %s', (payload, field) => {
    expect(refusal(payload)).toEqual({ field, code: undefined });
  });

  it('refuses another contract version as unsupported_version', () => {
    expect(refusal({ v: 2, memberId: MEMBER })).toEqual({ field: 'v', code: 'unsupported_version' });
  });
});

describe('vendorPayload', () => {
  it('writes the request as the contract has it: v, seconds rounded up, no undefined fields', () => {
    // Act
    const payload = JSON.parse(
      JSON.stringify(vendorPayload({ action: 'getAccessToken', memberId: MEMBER, userId: 1, minValidityMs: 299_001 })),
    );

    // Assess
    expect(payload).toEqual({ v: 1, action: 'getAccessToken', memberId: MEMBER, userId: 1, minValiditySeconds: 300 });
    expect(parseVendorRequest(payload)).toMatchObject({ minValidityMs: 300_000 });
  });
});

describe('answers, written and read back', () => {
  it('carries a token both ways', () => {
    // Act
    const read = readTokenAnswer(JSON.parse(JSON.stringify(tokenAnswer(TOKEN))), { memberId: MEMBER });

    // Assess
    expect(read).toEqual(TOKEN);
  });

  it.each([
    [new ValidationError('memberId must be …', { details: { field: 'memberId' } }), 'invalid_request', ValidationError],
    [new PortalNotFoundError(MEMBER, 1), 'portal_not_found', PortalNotFoundError],
    [new TokenUnavailableError('reauth_required', MEMBER, 1), 'reauth_required', TokenUnavailableError],
    [new TokenUnavailableError('uninstalled', MEMBER, 1), 'uninstalled', TokenUnavailableError],
    [
      new TokenRefreshError({ memberId: MEMBER, userId: 1 }, 'transient', 'degraded', 5000),
      'refresh_failed',
      TokenRefreshError,
    ],
    [new LeaseHeldError(MEMBER, 1, 9000), 'busy', TokenUnavailableError],
    [new Error('socket hang up with a secret inside'), 'internal', TokenUnavailableError],
  ])('turns %s into %s and back into a typed error', (error, code, type) => {
    // Act
    const answer = JSON.parse(JSON.stringify(errorAnswer(error)));
    const read = (() => {
      try {
        readTokenAnswer(answer, { memberId: MEMBER, userId: 1 });
      } catch (thrown) {
        return thrown;
      }
      return undefined;
    })();

    // Assess
    expect(answer.v).toBe(1);
    expect(answer.error.code).toBe(code);
    expect(read).toBeInstanceOf(type);
    expect(JSON.stringify(answer)).not.toContain('secret');
  });

  it('keeps the retry time and category of a failed refresh', () => {
    // Act
    const answer = errorAnswer(new TokenRefreshError({ memberId: MEMBER, userId: 1 }, 'backoff', 'degraded', 5000));
    let read: unknown;
    try {
      readTokenAnswer(answer, { memberId: MEMBER, userId: 1 });
    } catch (thrown) {
      read = thrown;
    }

    // Assess
    expect(answer.error).toMatchObject({
      code: 'refresh_failed',
      retryAt: 5000,
      category: 'backoff',
      status: 'degraded',
    });
    expect(read).toBeInstanceOf(TokenRefreshError);
    expect((read as TokenRefreshError).retryAt).toBe(5000);
  });

  it.each([
    [{ v: 2, ...TOKEN }],
    [{ v: 1, ...TOKEN, memberId: 'another' }],
    [{ v: 1, ...TOKEN, accessToken: 7 }],
    ['not json'],
    [{ v: 1, error: 'no object' }],
  ])('reads an answer that breaks the contract as refresh_failed: %j', (payload) => {
    expect(() => readTokenAnswer(payload, { memberId: MEMBER })).toThrow(TokenUnavailableError);
  });

  it('reads a done answer, and an error answer to recordUse', () => {
    // Act / Assess
    expect(readDoneAnswer({ v: 1, ok: true }, { memberId: MEMBER })).toBeUndefined();
    expect(() =>
      readDoneAnswer(errorAnswer(new ValidationError('x', { details: { field: 'clientEndpoint' } })), {
        memberId: MEMBER,
      }),
    ).toThrow(ValidationError);
  });
});
