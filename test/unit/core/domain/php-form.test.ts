import qs from 'qs';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '#local/emulator/faults.js';
import { ValidationError } from '#shared/core/domain/errors.js';
import { formKeySegments, parsePhpForm, stringifyPhpForm } from '#shared/core/domain/php-form.js';

const LIMITS = { depth: 5, parameterLimit: 200, arrayLimit: 50 };

/** qs, the reference implementation of PHP bracket keys in JavaScript, as an independent oracle. */
const qsParse = (text: string) => qs.parse(text, { depth: 5, allowPrototypes: false, arrayLimit: 50 });

describe('parsePhpForm', () => {
  it('nests bracket keys, decodes + and escapes, keeps repeated keys and [] lists in order', () => {
    // Act
    const parsed = parsePhpForm(
      'event=ONAPPINSTALL&auth%5Baccess_token%5D=a+b&auth[member_id]=m%C3%BC&data[FIELDS][ID]=5&ids[]=1&ids[]=2&x=1&x=2&flag',
      LIMITS,
    );

    // Assess
    expect(parsed).toEqual({
      event: 'ONAPPINSTALL',
      auth: { access_token: 'a b', member_id: 'mü' },
      data: { FIELDS: { ID: '5' } },
      ids: ['1', '2'],
      x: ['1', '2'],
      flag: '',
    });
  });

  it('reads what qs reads for bodies of maps, lists and leaves (seeded random bodies)', () => {
    // Prepare
    const random = seededRandom(11);
    const word = () =>
      ['auth', 'data', 'FIELDS', 'ID', 'a', 'b c', 'é', '>ID', '%', '&x'][Math.floor(random() * 10)] ?? 'a';
    const build = (level: number): Record<string, unknown> => {
      const out: Record<string, unknown> = {};
      for (let i = 0; i < 1 + Math.floor(random() * 3); i += 1) {
        const roll = random();
        out[`${word()}${i}`] =
          level < 3 && roll < 0.3
            ? build(level + 1)
            : roll < 0.45
              ? [word(), word()]
              : `${word()} ${Math.floor(random() * 100)}`;
      }
      return out;
    };

    for (let n = 0; n < 200; n += 1) {
      const value = build(0);
      const text = qs.stringify(value, { arrayFormat: 'brackets' });

      // Act / Assess
      expect(parsePhpForm(text, LIMITS)).toEqual(qsParse(text));
      expect(qsParse(stringifyPhpForm(value))).toEqual(qsParse(qs.stringify(value)));
    }
  });

  it('refuses prototype keys, too deep keys, too many parameters and long lists', () => {
    // Act / Assess
    const refused = [
      '__proto__[admin]=1',
      'a[constructor][prototype]=1',
      'a[b][c][d][e][f][g]=1',
      Array.from({ length: 201 }, (_, i) => `k${i}=1`).join('&'),
      Array.from({ length: 51 }, () => 'l[]=1').join('&'),
    ];
    for (const body of refused) expect(() => parsePhpForm(body, LIMITS)).toThrow(ValidationError);
    expect(parsePhpForm('a[b][c][d][e][f]=1', LIMITS)).toEqual({ a: { b: { c: { d: { e: { f: '1' } } } } } });
  });

  it('refuses a key used both as a value and as a container, and keys that are not PHP shaped', () => {
    // Act / Assess
    for (const body of [
      'a=1&a[b]=2',
      'a[b]=2&a=1',
      'a[b]=1&a[]=2',
      'a[]=1&a[b]=2',
      '=1',
      '[x]=1',
      'a[b=1',
      'a[b]c=1',
    ]) {
      expect(() => parsePhpForm(body, LIMITS), body).toThrow(ValidationError);
    }
  });
});

describe('formKeySegments', () => {
  it('splits a bracket key into its path', () => {
    expect(formKeySegments('auth[access_token]')).toEqual(['auth', 'access_token']);
    expect(formKeySegments('a[]')).toEqual(['a', '']);
    expect(formKeySegments('plain')).toEqual(['plain']);
  });
});

describe('stringifyPhpForm', () => {
  it('sends nested maps and lists with indices, skips empty values, and encodes every reserved character', () => {
    // Act
    const text = stringifyPhpForm({
      filter: { '>ID': 5, TITLE: 'a&b=c' },
      select: ['ID', 'TITLE'],
      none: undefined,
      nothing: null,
      empty: [],
      at: new Date(Date.UTC(2026, 0, 2)),
      yes: true,
    });

    // Assess
    expect(text).toBe(
      'filter%5B%3EID%5D=5&filter%5BTITLE%5D=a%26b%3Dc&select%5B0%5D=ID&select%5B1%5D=TITLE&at=2026-01-02T00%3A00%3A00.000Z&yes=true',
    );
    expect(parsePhpForm(text, LIMITS)).toEqual({
      filter: { '>ID': '5', TITLE: 'a&b=c' },
      select: { 0: 'ID', 1: 'TITLE' },
      at: '2026-01-02T00:00:00.000Z',
      yes: 'true',
    });
  });
});
