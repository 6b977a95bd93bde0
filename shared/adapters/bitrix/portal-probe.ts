import { restoreUrl, rewriteUrl } from '#shared/core/domain/url-rewrites.js';
import type { PortalProbe } from '#shared/core/ports/portal-probe.js';

export interface HttpPortalProbeOptions {
  /** `BITRIX_URL_REWRITES`: transport-level redirection to an emulator or proxy. @default {} */
  readonly urlRewrites?: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly fetch?: typeof fetch;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** A method every portal has; the request carries no token, so the method never runs. */
const PROBE_METHOD = 'profile';

/**
 * `PortalProbe` over HTTP: POSTs an empty form, without any token, to `{clientEndpoint}profile` with
 * redirects not followed, and reads the `Location` of the answer. Only a redirect to `{base}profile`
 * over http(s) counts; everything else (an answer, a timeout, a redirect elsewhere) is `undefined`.
 */
export class HttpPortalProbe implements PortalProbe {
  private readonly rewrites: Readonly<Record<string, string>>;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: HttpPortalProbeOptions) {
    this.rewrites = options.urlRewrites ?? {};
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  async movedTo(clientEndpoint: string): Promise<string | undefined> {
    const url = rewriteUrl(`${clientEndpoint}${PROBE_METHOD}`, this.rewrites);
    let response: Response;
    try {
      response = await this.fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: '',
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      await response.body?.cancel();
    } catch {
      return undefined;
    }
    const location = response.headers.get('location');
    if (!REDIRECTS.has(response.status) || location === null || location === '') return undefined;
    const target = new URL(restoreUrl(new URL(location, url).toString(), this.rewrites));
    if (!/^https?:$/.test(target.protocol) || !target.pathname.endsWith(`/${PROBE_METHOD}`)) return undefined;
    return `${target.origin}${target.pathname.slice(0, -PROBE_METHOD.length)}`;
  }
}
