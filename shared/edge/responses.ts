import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** Escapes text for HTML element and attribute content. */
export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

export interface HtmlPageOptions {
  readonly title: string;
  /** Trusted HTML (build it with `escapeHtml` for every variable). */
  readonly bodyHtml: string;
  readonly statusCode?: number;
  readonly headers?: Record<string, string>;
  readonly cookies?: string[];
  /** Extra trusted markup for <head> (scripts). */
  readonly headHtml?: string;
}

/** A small, self-contained HTML page (no external styles), never cached. */
export function htmlPage(options: HtmlPageOptions): APIGatewayProxyStructuredResultV2 {
  const body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(options.title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.5;color:#1d2330}
h1{font-size:1.4rem}.ok{color:#1a7f37}.err{color:#b42318}code{background:#f2f4f7;padding:0 .2rem}a.button{display:inline-block;padding:.4rem .9rem;background:#2066d1;color:#fff;border-radius:4px;text-decoration:none}</style>
${options.headHtml ?? ''}</head><body>
${options.bodyHtml}
</body></html>`;
  return {
    statusCode: options.statusCode ?? 200,
    headers: {
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      ...options.headers,
    },
    ...(options.cookies === undefined ? {} : { cookies: options.cookies }),
    body,
  };
}

/** A JSON answer. */
export function json(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers },
    body: JSON.stringify(body),
  };
}

/** A 302 to `location`. */
export function redirect(location: string, cookies: string[] = []): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode: 302,
    headers: { Location: location, 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' },
    ...(cookies.length === 0 ? {} : { cookies }),
    body: '',
  };
}

/** Reads one cookie from API Gateway v2's `cookies` array. */
export function readCookie(cookies: readonly string[] | undefined, name: string): string | undefined {
  for (const cookie of cookies ?? []) {
    const index = cookie.indexOf('=');
    if (index > 0 && cookie.slice(0, index).trim() === name) return decodeURIComponent(cookie.slice(index + 1).trim());
  }
  return undefined;
}
