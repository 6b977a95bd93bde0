/**
 * Applies `BITRIX_URL_REWRITES` to an outbound URL. Keys are origins (`https://host[:port]`) or `*`;
 * values are base URLs that may contain `{host}`. The exact origin wins over `*`. URLs that match
 * nothing are returned unchanged, so production needs no entry at all.
 *
 * @example
 * rewriteUrl('https://a.bitrix24.com/rest/profile', { '*': 'http://127.0.0.1:9/h/{host}' })
 * // → 'http://127.0.0.1:9/h/a.bitrix24.com/rest/profile'
 */
export function rewriteUrl(url: string, rewrites: Readonly<Record<string, string>>): string {
  const parsed = new URL(url);
  const base = rewrites[parsed.origin] ?? rewrites['*'];
  if (base === undefined) return url;
  const target = base.replaceAll('{host}', parsed.host).replace(/\/+$/, '');
  return `${target}${parsed.pathname}${parsed.search}`;
}

/**
 * The origin a browser sees for `origin` when `BITRIX_URL_REWRITES` sends the portal's traffic
 * elsewhere: what `frame-ancestors` must name for the frame to load. Unchanged without a rewrite.
 *
 * @example
 * rewriteOrigin('https://a.bitrix24.com', { '*': 'http://127.0.0.1:9/h/{host}' }) // → 'http://127.0.0.1:9'
 */
export function rewriteOrigin(origin: string, rewrites: Readonly<Record<string, string>>): string {
  return new URL(rewriteUrl(`${origin}/`, rewrites)).origin;
}

/**
 * Undoes `BITRIX_URL_REWRITES` for a URL the (emulated or proxied) portal sent back, so stored addresses
 * keep real host names. A URL no rewrite produced is returned unchanged.
 */
export function restoreUrl(url: string, rewrites: Readonly<Record<string, string>>): string {
  for (const [origin, base] of Object.entries(rewrites)) {
    const trimmed = base.replace(/\/+$/, '');
    if (trimmed.includes('{host}')) {
      const [before = '', after = ''] = trimmed.split('{host}', 2);
      if (!url.startsWith(before)) continue;
      const rest = url.slice(before.length);
      const host = rest.split('/', 1)[0] ?? '';
      if (host === '' || !rest.slice(host.length).startsWith(after)) continue;
      const scheme = origin === '*' ? 'https:' : new URL(origin).protocol;
      return `${scheme}//${host}${rest.slice(host.length + after.length)}`;
    }
    if (origin !== '*' && (url === trimmed || url.startsWith(`${trimmed}/`) || url.startsWith(`${trimmed}?`))) {
      return `${origin}${url.slice(trimmed.length)}`;
    }
  }
  return url;
}
