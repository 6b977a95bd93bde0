import { describe, expect, it } from 'vitest';
import { installPage } from '#shared/edge/install-pages.js';

const DEPLOYED = { libraryUrl: '//api.bitrix24.com/api/v1/', urlRewrites: {} };
const LOCAL = {
  libraryUrl: 'http://127.0.0.1:9/h/api.bitrix24.com/api/v1/',
  urlRewrites: { '*': 'http://127.0.0.1:9/h/{host}' },
};

describe('installPage', () => {
  it('lets the portal frame the page at its real origin and loads BX24.js from Bitrix24 when deployed', () => {
    // Act
    const page = installPage(
      { kind: 'installing', frameOrigin: 'https://a.bitrix24.com', portal: 'a.bitrix24.com' },
      DEPLOYED,
    );

    // Assess
    expect(page.headers?.['Content-Security-Policy']).toMatch(/^frame-ancestors https:\/\/a\.bitrix24\.com;/);
    expect(page.body).toContain('<script src="//api.bitrix24.com/api/v1/"></script>');
    expect(page.body).toContain('BX24.installFinish()');
  });

  it('names the origin the browser reaches the portal on when its traffic is rewritten, and the library set', () => {
    // Act
    const page = installPage(
      { kind: 'connected', frameOrigin: 'https://a.bitrix24.com', portal: 'a.bitrix24.com', placement: 'DEFAULT' },
      LOCAL,
    );

    // Assess
    expect(page.headers?.['Content-Security-Policy']).toMatch(/^frame-ancestors http:\/\/127\.0\.0\.1:9;/);
    expect(page.body).toContain('<script src="http://127.0.0.1:9/h/api.bitrix24.com/api/v1/"></script>');
    expect(page.body).not.toContain('api.bitrix24.com/api/v1/"></script>\n<script src');
  });

  it('lets nobody frame a page without a portal origin, and escapes the library URL', () => {
    // Act
    const page = installPage(
      { kind: 'connected', frameOrigin: 'https://a.bitrix24.com', portal: 'a', placement: 'DEFAULT' },
      {
        ...DEPLOYED,
        libraryUrl: '//x/"><script>alert(1)</script>',
      },
    );
    const opened = installPage({ kind: 'not_in_frame' }, LOCAL);

    // Assess
    expect(page.body).not.toContain('<script>alert(1)');
    expect(opened.headers?.['Content-Security-Policy']).toMatch(/^frame-ancestors 'none';/);
  });
});
