import { describe, expect, it } from 'vitest';
import type { AuthorizationOutcome } from '#shared/core/use-cases/complete-authorization.js';
import {
  authorizationPage,
  bindingCookie,
  cookieSecure,
  PLAIN_BINDING_COOKIE,
  readBindingCookie,
  SECURE_BINDING_COOKIE,
  startFormPage,
} from '#shared/edge/oauth-pages.js';

describe('binding cookie', () => {
  it('is Secure with the __Host- prefix over https, HttpOnly and SameSite=Lax always', () => {
    // Act
    const secure = bindingCookie('v', { secure: true, maxAgeSeconds: 600 });
    const plain = bindingCookie('v', { secure: false, maxAgeSeconds: 600 });

    // Assess
    expect(secure).toBe(`${SECURE_BINDING_COOKIE}=v; Path=/; Max-Age=600; HttpOnly; SameSite=Lax; Secure`);
    expect(plain).toBe(`${PLAIN_BINDING_COOKIE}=v; Path=/; Max-Age=600; HttpOnly; SameSite=Lax`);
  });

  it('derives Secure from x-forwarded-proto in auto mode, and is Secure when the scheme is unknown', () => {
    expect(cookieSecure('auto', { 'x-forwarded-proto': 'https' })).toBe(true);
    expect(cookieSecure('auto', { 'x-forwarded-proto': 'http' })).toBe(false);
    expect(cookieSecure('auto', { 'x-forwarded-proto': 'HTTP, https' })).toBe(false);
    expect(cookieSecure('auto', {})).toBe(true);
    expect(cookieSecure('true', { 'x-forwarded-proto': 'http' })).toBe(true);
    expect(cookieSecure('false', { 'x-forwarded-proto': 'https' })).toBe(false);
  });

  it('reads either name, preferring the __Host- one', () => {
    expect(readBindingCookie([`${PLAIN_BINDING_COOKIE}=a`, `${SECURE_BINDING_COOKIE}=b`])).toBe('b');
    expect(readBindingCookie(['x=1', ` ${PLAIN_BINDING_COOKIE}=a`])).toBe('a');
    expect(readBindingCookie(['other=1'])).toBeUndefined();
    expect(readBindingCookie(undefined)).toBeUndefined();
  });
});

describe('startFormPage', () => {
  it('shows the address form, and with an error answers 400 with the typed value escaped', () => {
    // Act
    const form = startFormPage();
    const refused = startFormPage({ error: 'enter only the host name', portal: '"><script>x</script>' });

    // Assess
    expect(form.statusCode).toBe(200);
    expect(form.body).toContain('name="portal"');
    // The submit ends in a redirect to the portal: a form-action rule would block it.
    expect(form.headers?.['Content-Security-Policy']).not.toContain('form-action');
    expect(refused.statusCode).toBe(400);
    expect(refused.body).toContain('enter only the host name');
    expect(refused.body).not.toContain('<script>x');
    expect(refused.body).toContain('&quot;&gt;&lt;script&gt;');
  });
});

describe('authorizationPage', () => {
  const portal = 'alpha.bitrix24.com';
  const cases: [AuthorizationOutcome, number, RegExp][] = [
    [{ kind: 'connected', portal, memberId: 'm', userId: 1 }, 200, /is connected/],
    [{ kind: 'invalid_request', portal, problem: 'the authorization code is missing' }, 400, /code is missing/],
    [{ kind: 'state_expired', portal }, 400, /not finished in time/],
    [{ kind: 'browser_mismatch', portal }, 403, /another browser/],
    [{ kind: 'server_not_allowed', portal, serverDomain: 'evil.example' }, 403, /evil\.example.*does not trust/],
    [{ kind: 'code_expired', portal }, 400, /30 seconds/],
    [{ kind: 'denied', portal, reason: 'invalid_client' }, 403, /not installed/],
    [{ kind: 'denied', portal, reason: 'payment_required' }, 403, /subscription or trial/],
    [{ kind: 'member_mismatch', portal }, 400, /not the one Bitrix24 confirmed/],
    [{ kind: 'server_failed', portal, error: 'timeout' }, 502, /did not answer in time/],
    [{ kind: 'refused_by_portal', portal, error: 'access_denied' }, 403, /declined on .*alpha\.bitrix24\.com/],
    [
      { kind: 'refused_by_portal', portal, error: 'server_error' },
      400,
      /answered with the error <code>server_error<\/code>/,
    ],
  ];

  it.each(cases)('renders %j with status %i', (outcome, status, text) => {
    // Act
    const page = authorizationPage(outcome);

    // Assess
    expect(page.statusCode).toBe(status);
    expect(page.body).toMatch(text);
    expect(page.headers?.['Content-Security-Policy']).toContain("default-src 'none'");
    if (status >= 400) expect(page.body).toContain('href="start?portal=alpha.bitrix24.com"');
    else expect(page.body).not.toContain('Start again');
  });

  it('explains a callback opened by hand instead of calling it a used link', () => {
    // Act
    const page = authorizationPage({ kind: 'not_a_callback' });

    // Assess
    expect(page.statusCode).toBe(400);
    expect(page.body).toContain('Bitrix24 sends you here after you allow the app');
    expect(page.body).not.toContain('already used');
    expect(page.body).toContain('href="start"');
  });

  it('answers an unknown state with one neutral page: no portal named, a link to the bare start form', () => {
    // Act
    const named = authorizationPage({ kind: 'state_unknown', portal });
    const unnamed = authorizationPage({ kind: 'state_unknown', portal: undefined });

    // Assess
    expect(named).toEqual(unnamed);
    expect(named.statusCode).toBe(400);
    expect(named.body).toMatch(/already used, has expired/);
    expect(named.body).toContain('href="start"');
    expect(named.body).not.toContain(portal);
    expect(named.body).not.toMatch(/is connected/);
  });
});
