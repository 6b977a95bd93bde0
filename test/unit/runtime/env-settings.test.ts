import { describe, expect, it } from 'vitest';
import {
  int,
  lowerCaseList,
  nonNegative,
  oneOf,
  optionalText,
  optionalUrl,
  parseSettings,
  positive,
  text,
  url,
  urlMap,
} from '#shared/runtime/env-settings.js';

const schema = {
  COUNT: int(4, 1),
  RATIO: positive(1.5),
  LEAD: nonNegative(0),
  NAME: text('table'),
  SECRET_ID: optionalText(),
  MODE: oneOf(['a', 'b'], 'a'),
  ENDPOINT: url('https://example.com/'),
  TUNNEL: optionalUrl(),
  HOSTS: lowerCaseList(['x.example']),
  REWRITES: urlMap({}),
} as const;

describe('parseSettings', () => {
  it('gives every unset or empty setting its default', () => {
    // Act
    const result = parseSettings(schema, { COUNT: '', NAME: undefined });

    // Assess
    expect(result).toEqual({
      ok: true,
      value: {
        COUNT: 4,
        RATIO: 1.5,
        LEAD: 0,
        NAME: 'table',
        SECRET_ID: undefined,
        MODE: 'a',
        ENDPOINT: 'https://example.com/',
        TUNNEL: undefined,
        HOSTS: ['x.example'],
        REWRITES: {},
      },
    });
  });

  it('reads each shape from text', () => {
    // Act
    const result = parseSettings(schema, {
      COUNT: ' 12 ',
      RATIO: '0.25',
      LEAD: '0',
      MODE: 'b',
      HOSTS: ' A.example, ,B.Example ',
      REWRITES: '{"*":"http://127.0.0.1:9/h/{host}"}',
      TUNNEL: 'https://t.example',
    });

    // Assess
    expect(result.ok && result.value).toMatchObject({
      COUNT: 12,
      RATIO: 0.25,
      LEAD: 0,
      MODE: 'b',
      HOSTS: ['a.example', 'b.example'],
      REWRITES: { '*': 'http://127.0.0.1:9/h/{host}' },
      TUNNEL: 'https://t.example',
    });
  });

  it('names every bad variable and says what is wrong, all at once', () => {
    // Act
    const result = parseSettings(schema, {
      COUNT: '0',
      RATIO: '-1',
      LEAD: 'soon',
      MODE: 'c',
      ENDPOINT: 'ftp://x',
      TUNNEL: 'nope',
      REWRITES: '{"a": 1}',
    });

    // Assess
    expect(result).toEqual({
      ok: false,
      problems: [
        'COUNT must be at least 1, got 0',
        'RATIO must be above 0, got -1',
        'LEAD must be a number, got "soon"',
        'MODE must be one of a, b, got "c"',
        'ENDPOINT must be an http(s) URL, got "ftp://x"',
        'TUNNEL must be an http(s) URL, got "nope"',
        'REWRITES must be a JSON object of origin → base URL',
      ].join('; '),
    });
    expect(parseSettings({ N: int(1) }, { N: '1.5' })).toEqual({
      ok: false,
      problems: 'N must be a whole number, got "1.5"',
    });
    expect(parseSettings({ J: urlMap({}) }, { J: '{' })).toEqual({ ok: false, problems: 'J must be valid JSON' });
  });
});
