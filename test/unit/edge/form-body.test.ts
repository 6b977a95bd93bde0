import { HttpError } from '@middy/util';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '#shared/core/domain/errors.js';
import { parseRequestBody } from '#shared/edge/form-body.js';

const FORM = 'application/x-www-form-urlencoded';

function statusOf(fn: () => unknown): number | 'validation' | 'ok' {
  try {
    fn();
    return 'ok';
  } catch (error) {
    if (error instanceof HttpError) return error.statusCode;
    if (error instanceof ValidationError) return 'validation';
    throw error;
  }
}

describe('parseRequestBody', () => {
  it('nests PHP bracket keys of a form body', () => {
    // Prepare
    const body = 'event=ONAPPINSTALL&data%5BVERSION%5D=1&auth%5Baccess_token%5D=a&auth%5Bmember_id%5D=m';

    // Act
    const parsed = parseRequestBody({ body, contentType: `${FORM}; charset=UTF-8` });

    // Assess
    expect(parsed).toEqual({
      event: 'ONAPPINSTALL',
      data: { VERSION: '1' },
      auth: { access_token: 'a', member_id: 'm' },
    });
  });

  it('decodes a base64 body first', () => {
    // Prepare
    const body = Buffer.from('auth%5Bmember_id%5D=m', 'utf8').toString('base64');

    // Act
    const parsed = parseRequestBody({ body, isBase64Encoded: true, contentType: FORM });

    // Assess
    expect(parsed).toEqual({ auth: { member_id: 'm' } });
  });

  it('accepts JSON bodies', () => {
    // Act
    const parsed = parseRequestBody({
      body: '{"event":"ONAPPUNINSTALL","data":{"CLEAN":1}}',
      contentType: 'application/json',
    });

    // Assess
    expect(parsed).toEqual({ event: 'ONAPPUNINSTALL', data: { CLEAN: 1 } });
  });

  it('returns undefined for an empty body whatever the content type', () => {
    // Act / Assess
    expect(parseRequestBody({ body: '', contentType: 'text/plain' })).toBeUndefined();
    expect(parseRequestBody({ body: undefined })).toBeUndefined();
  });

  it('answers 415 for other media types and charsets', () => {
    // Act / Assess
    expect(statusOf(() => parseRequestBody({ body: 'a=1', contentType: 'text/plain' }))).toBe(415);
    expect(statusOf(() => parseRequestBody({ body: 'a=1', contentType: undefined }))).toBe(415);
    expect(statusOf(() => parseRequestBody({ body: 'a=1', contentType: `${FORM}; charset=iso-8859-1` }))).toBe(415);
    expect(statusOf(() => parseRequestBody({ body: 'a=1', contentType: 'multipart/form-data; boundary=x' }))).toBe(415);
  });

  it('answers 413 above the size limit, before and after base64 decoding', () => {
    // Prepare
    const big = `a=${'x'.repeat(2048)}`;

    // Act / Assess
    expect(statusOf(() => parseRequestBody({ body: big, contentType: FORM }, { maxBytes: 1024 }))).toBe(413);
    expect(
      statusOf(() =>
        parseRequestBody(
          { body: Buffer.from(big).toString('base64'), isBase64Encoded: true, contentType: FORM },
          { maxBytes: 1024 },
        ),
      ),
    ).toBe(413);
  });

  it('refuses prototype keys in any position and any encoding', () => {
    // Prepare
    const bodies = [
      '__proto__%5Bpolluted%5D=1',
      'auth%5B__proto__%5D%5Bpolluted%5D=1',
      'constructor%5Bprototype%5D%5Bpolluted%5D=1',
      'a%5Bconstructor%5D=1',
      '%5F%5Fproto%5F%5F%5Bx%5D=1',
      'auth[prototype]=x',
    ];

    // Act / Assess
    for (const body of bodies) expect(statusOf(() => parseRequestBody({ body, contentType: FORM }))).toBe('validation');
    expect(
      statusOf(() =>
        parseRequestBody({ body: '{"auth":{"__proto__":{"polluted":1}}}', contentType: 'application/json' }),
      ),
    ).toBe('validation');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses bodies nested too deep or with too many parameters instead of truncating them', () => {
    // Prepare
    const deep = `a${'[b]'.repeat(10)}=1`;
    const many = Array.from({ length: 300 }, (_, i) => `k${i}=v`).join('&');
    const deepJson = `${'{"a":'.repeat(20)}1${'}'.repeat(20)}`;

    // Act / Assess
    expect(statusOf(() => parseRequestBody({ body: deep, contentType: FORM }))).toBe('validation');
    expect(statusOf(() => parseRequestBody({ body: many, contentType: FORM }))).toBe('validation');
    expect(statusOf(() => parseRequestBody({ body: deepJson, contentType: 'application/json' }))).toBe('validation');
    expect(statusOf(() => parseRequestBody({ body: '{"a":', contentType: 'application/json' }))).toBe('validation');
  });

  it('keeps a malformed percent escape as text instead of failing', () => {
    // Act
    const parsed = parseRequestBody({ body: 'event=%E0%A4%A&x=%', contentType: FORM });

    // Assess
    expect(parsed).toMatchObject({ x: '%' });
  });
});
