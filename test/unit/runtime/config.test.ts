import { describe, expect, it } from 'vitest';
import { ConfigError } from '#shared/core/domain/errors.js';
import { loadConfig } from '#shared/runtime/config.js';

describe('loadConfig', () => {
  it('fills defaults: both Bitrix24 authorization servers, 30-day refresh lifetime, no rewrites', () => {
    const config = loadConfig({});
    expect(config.BITRIX_AUTH_SERVERS).toEqual(['oauth.bitrix.info', 'oauth.bitrix24.tech']);
    expect(config.REFRESH_TOKEN_LIFETIME_DAYS).toBe(30);
    expect(config.BITRIX_URL_REWRITES).toEqual({});
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('parses lists, numbers and the rewrite map', () => {
    const config = loadConfig({
      BITRIX_AUTH_SERVERS: ' OAuth.Example.org , oauth.bitrix.info',
      DUE_SHARDS: '8',
      BITRIX_URL_REWRITES: '{"*":"http://127.0.0.1:9/h/{host}"}',
    });
    expect(config.BITRIX_AUTH_SERVERS).toEqual(['oauth.example.org', 'oauth.bitrix.info']);
    expect(config.DUE_SHARDS).toBe(8);
    expect(config.BITRIX_URL_REWRITES).toEqual({ '*': 'http://127.0.0.1:9/h/{host}' });
  });

  it('names the variable that is wrong', () => {
    expect(() => loadConfig({ DUE_SHARDS: 'many' })).toThrow(/DUE_SHARDS/);
    expect(() => loadConfig({ BITRIX_URL_REWRITES: '{not json' })).toThrow(ConfigError);
    expect(() => loadConfig({ BITRIX_HTTP_TIMEOUT_MS: '40000', REFRESH_LEASE_SECONDS: '30' })).toThrow(/shorter than/);
  });

  it('normalises the on-premise portals and refuses an entry that is not a host name', () => {
    expect(loadConfig({}).BITRIX_ON_PREMISE_PORTALS).toEqual([]);
    expect(
      loadConfig({ BITRIX_ON_PREMISE_PORTALS: ' CRM.example.org:8443, box.example.com:443,' })
        .BITRIX_ON_PREMISE_PORTALS,
    ).toEqual(['crm.example.org:8443', 'box.example.com']);
    expect(() => loadConfig({ BITRIX_ON_PREMISE_PORTALS: 'crm.example.org,https://box.example.com' })).toThrow(
      /BITRIX_ON_PREMISE_PORTALS has "https:\/\/box\.example\.com", which is not a host name/,
    );
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ DUE_SHARDS: '' }).DUE_SHARDS).toBe(16);
  });
});
