import { describe, expect, it } from 'vitest';
import { ValidationError } from '#shared/core/domain/errors.js';
import { parsePortalAddress } from '#shared/core/domain/portal-address.js';

describe('parsePortalAddress', () => {
  it.each([
    ['alpha.bitrix24.com', 'alpha.bitrix24.com'],
    ['  Alpha.Bitrix24.COM ', 'alpha.bitrix24.com'],
    ['alpha.bitrix24.ru.', 'alpha.bitrix24.ru'],
    ['crm.example.org:8443', 'crm.example.org:8443'],
    ['crm.example.org:443', 'crm.example.org'],
    ['b24-ar17wx.bitrix24.by', 'b24-ar17wx.bitrix24.by'],
    ['пример.рф', 'xn--e1afmkfd.xn--p1ai'],
  ])('accepts %j as %j', (input, expected) => {
    expect(parsePortalAddress(input)).toBe(expected);
  });

  it.each([
    ['', 'empty'],
    ['https://alpha.bitrix24.com', 'scheme'],
    ['//alpha.bitrix24.com', 'scheme-relative'],
    ['javascript://alpha.bitrix24.com', 'other scheme'],
    ['alpha.bitrix24.com/oauth/authorize/', 'path'],
    ['alpha.bitrix24.com?x=1', 'query'],
    ['alpha.bitrix24.com#x', 'fragment'],
    ['user@alpha.bitrix24.com', 'user info'],
    ['alpha.bitrix24.com@evil.example', 'user info trick'],
    ['evil.example\\@alpha.bitrix24.com', 'backslash'],
    ['alpha bitrix24.com', 'space'],
    ['alpha.bitrix24.com%2f', 'percent-encoding'],
    ['127.0.0.1', 'IPv4'],
    ['127.0.0.1:8080', 'IPv4 with port'],
    ['0x7f.1', 'hex IPv4'],
    ['2130706433', 'decimal IPv4'],
    ['[::1]', 'IPv6'],
    ['[::1]:443', 'IPv6 with port'],
    ['localhost', 'single label'],
    ['-alpha.bitrix24.com', 'leading hyphen'],
    ['alpha..bitrix24.com', 'empty label'],
    ['alpha.bitrix24.com:0', 'port 0'],
    ['alpha.bitrix24.com:65536', 'port too large'],
    ['alpha.bitrix24.com:080', 'port with leading zero'],
    ['alpha.bitrix24.com:', 'empty port'],
    ['alpha.bitrix24.com:80:80', 'two ports'],
    ['a_b.bitrix24.com', 'underscore'],
    [`${'a'.repeat(64)}.bitrix24.com`, 'label too long'],
  ])('refuses %j (%s) with a ValidationError', (input) => {
    expect(() => parsePortalAddress(input)).toThrow(ValidationError);
  });

  it('names the problem in words a user can act on', () => {
    expect(() => parsePortalAddress('https://alpha.bitrix24.com/')).toThrow(/without http:\/\/ or https:\/\//);
    expect(() => parsePortalAddress('10.0.0.5')).toThrow(/not by IP address/);
  });
});
