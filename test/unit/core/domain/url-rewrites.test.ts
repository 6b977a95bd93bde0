import { describe, expect, it } from 'vitest';
import { rewriteOrigin, rewriteUrl } from '#shared/core/domain/url-rewrites.js';

describe('rewriteUrl', () => {
  it('leaves URLs unchanged without a matching rule', () => {
    expect(rewriteUrl('https://oauth.bitrix.info/oauth/token/', {})).toBe('https://oauth.bitrix.info/oauth/token/');
  });

  it('maps every host through a wildcard template, keeping path and query', () => {
    expect(rewriteUrl('https://a.bitrix24.com/rest/profile?x=1', { '*': 'http://127.0.0.1:9/h/{host}/' })).toBe(
      'http://127.0.0.1:9/h/a.bitrix24.com/rest/profile?x=1',
    );
  });

  it('prefers an exact origin over the wildcard', () => {
    const rules = { 'https://oauth.bitrix.info': 'http://proxy.local:8080', '*': 'http://127.0.0.1:9/h/{host}' };
    expect(rewriteUrl('https://oauth.bitrix.info/oauth/token/', rules)).toBe('http://proxy.local:8080/oauth/token/');
    expect(rewriteUrl('http://box.example.com:8080/rest/', rules)).toBe(
      'http://127.0.0.1:9/h/box.example.com:8080/rest/',
    );
  });
});

describe('rewriteOrigin', () => {
  it('keeps a portal origin without a rule, and names the origin a browser reaches it on with one', () => {
    // Act
    const real = rewriteOrigin('https://a.bitrix24.com', {});
    const onPremise = rewriteOrigin('http://box.example.com:8080', {});
    const emulated = rewriteOrigin('https://a.bitrix24.com', { '*': 'http://127.0.0.1:9/h/{host}' });

    // Assess
    expect(real).toBe('https://a.bitrix24.com');
    expect(onPremise).toBe('http://box.example.com:8080');
    expect(emulated).toBe('http://127.0.0.1:9');
  });
});
