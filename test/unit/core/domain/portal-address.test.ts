import { describe, expect, it } from 'vitest';
import { ValidationError } from '#shared/core/domain/errors.js';
import {
  BITRIX24_CLOUD_ZONES,
  cloudZoneOf,
  parseAllowedPortal,
  parsePortalAddress,
  portalMoveAllowed,
} from '#shared/core/domain/portal-address.js';

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

describe('cloudZoneOf', () => {
  it.each(BITRIX24_CLOUD_ZONES.map((zone) => [`b24-aokwy2.bitrix24.${zone}`, zone]))(
    'knows %s (zone %s)',
    (host, zone) => {
      expect(cloudZoneOf(host)).toBe(zone);
    },
  );

  it.each([
    'bitrix24.com',
    'a.b.bitrix24.com',
    'alpha.bitrix24.com:8443',
    'alpha.bitrix24.com.evil.example',
    'alpha.bitrix24.br',
    'alpha.bitrix24.tr',
    'alpha.bitrix24.site',
    'alpha.bitrix24.shop',
    'oauth.bitrix24.tech',
    'alpha.notbitrix24.com',
    'alpha-bitrix24.com',
    'crm.example.org',
  ])('does not take %j for a cloud portal', (host) => {
    expect(cloudZoneOf(host)).toBeUndefined();
  });
});

describe('parseAllowedPortal', () => {
  it('accepts every cloud portal and only the listed on-premise ones', () => {
    expect(parseAllowedPortal(' Alpha.Bitrix24.COM.br ', [])).toBe('alpha.bitrix24.com.br');
    expect(parseAllowedPortal('crm.example.org:8443', ['crm.example.org:8443'])).toBe('crm.example.org:8443');
    expect(parseAllowedPortal('crm.example.org:443', ['crm.example.org'])).toBe('crm.example.org');
    expect(() => parseAllowedPortal('crm.example.org', [])).toThrow(/not a Bitrix24 cloud address/);
    expect(() => parseAllowedPortal('crm.example.org:8443', ['crm.example.org'])).toThrow(ValidationError);
    expect(() => parseAllowedPortal('https://alpha.bitrix24.com', [])).toThrow(/without http/);
  });
});

describe('portalMoveAllowed', () => {
  const url = (text: string) => new URL(text);

  it.each([
    ['https://old.bitrix24.com/rest/', 'https://new.bitrix24.com/rest/profile', [], true],
    ['https://old.bitrix24.com.br/rest/', 'https://novo.bitrix24.com.br/rest/profile', [], true],
    ['https://old.bitrix24.com/rest/', 'https://old.bitrix24.de/rest/profile', [], false],
    ['https://old.bitrix24.com/rest/', 'http://new.bitrix24.com/rest/profile', [], false],
    ['https://old.bitrix24.com/rest/', 'https://evil.example/rest/profile', [], false],
    ['https://old.bitrix24.com/rest/', 'https://a.b.bitrix24.com/rest/profile', [], false],
    ['https://old.bitrix24.com/rest/', 'https://new.bitrix24.com:8443/rest/profile', [], false],
    ['https://old.bitrix24.com/rest/', 'https://user:pw@new.bitrix24.com/rest/profile', [], false],
    ['https://old.bitrix24.com/rest/', 'https://crm.example.org/rest/profile', ['crm.example.org'], false],
    ['http://crm.example.org/rest/', 'https://crm.example.org/rest/profile', [], true],
    ['https://crm.example.org/rest/', 'https://crm.example.org/portal/rest/profile', [], true],
    ['https://crm.example.org/rest/', 'https://crm.example.org:8443/rest/profile', [], false],
    ['https://crm.example.org/rest/', 'https://crm2.example.org/rest/profile', ['crm2.example.org'], true],
    ['https://crm.example.org/rest/', 'https://crm2.example.org/rest/profile', [], false],
    ['https://crm.example.org/rest/', 'https://new.bitrix24.com/rest/profile', [], false],
    ['http://crm.example.org/rest/', 'http://crm.example.org/portal/rest/profile', [], false],
  ] as const)('from %s to %s (allow-list %j): %s', (from, to, allowed, expected) => {
    expect(portalMoveAllowed(url(from), url(to), allowed)).toBe(expected);
  });
});
