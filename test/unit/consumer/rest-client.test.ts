import { describe, expect, it } from 'vitest';
import { restoreUrl, rewriteUrl } from '#shared/core/domain/url-rewrites.js';

describe('restoreUrl', () => {
  it('undoes a {host} rewrite, so a redirect the emulator sends back keeps the real host', () => {
    // Prepare
    const rewrites = { '*': 'http://127.0.0.1:4567/h/{host}' };
    const real = 'https://new.bitrix24.com/rest/crm.lead.list?x=1';

    // Act
    const restored = restoreUrl(rewriteUrl(real, rewrites), rewrites);

    // Assess
    expect(restored).toBe(real);
  });

  it('undoes an exact-origin rewrite and keeps the origin scheme', () => {
    // Prepare
    const rewrites = { 'http://box.example.com': 'http://127.0.0.1:9000/proxy' };

    // Act
    const restored = restoreUrl('http://127.0.0.1:9000/proxy/rest/profile', rewrites);

    // Assess
    expect(restored).toBe('http://box.example.com/rest/profile');
  });

  it('returns a URL no rewrite produced unchanged', () => {
    // Prepare
    const rewrites = { '*': 'http://127.0.0.1:4567/h/{host}' };

    // Act / Assess
    expect(restoreUrl('https://renamed.bitrix24.com/rest/profile', rewrites)).toBe(
      'https://renamed.bitrix24.com/rest/profile',
    );
    expect(restoreUrl('http://127.0.0.1:9999/h/x/rest/profile', rewrites)).toBe(
      'http://127.0.0.1:9999/h/x/rest/profile',
    );
    expect(restoreUrl('https://a.bitrix24.com/rest/', {})).toBe('https://a.bitrix24.com/rest/');
  });
});
