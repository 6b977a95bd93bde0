import { describe, expect, it } from 'vitest';
import { ConfigError } from '#shared/core/domain/errors.js';
import { loadConfig } from '#shared/runtime/config.js';

describe('OAuth settings in loadConfig', () => {
  it('defaults to a 10-minute state and a cookie Secure flag derived from the scheme', () => {
    // Act
    const config = loadConfig({});

    // Assess
    expect(config.OAUTH_STATE_TTL_SECONDS).toBe(600);
    expect(config.OAUTH_COOKIE_SECURE).toBe('auto');
  });

  it('reads both from the environment', () => {
    const config = loadConfig({ OAUTH_STATE_TTL_SECONDS: '120', OAUTH_COOKIE_SECURE: 'false' });
    expect(config.OAUTH_STATE_TTL_SECONDS).toBe(120);
    expect(config.OAUTH_COOKIE_SECURE).toBe('false');
  });

  it('refuses a state lifetime under 30 s and an unknown cookie mode, naming the variable', () => {
    expect(() => loadConfig({ OAUTH_STATE_TTL_SECONDS: '5' })).toThrow(/OAUTH_STATE_TTL_SECONDS/);
    expect(() => loadConfig({ OAUTH_COOKIE_SECURE: 'yes' })).toThrow(ConfigError);
  });
});
