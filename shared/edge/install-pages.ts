import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { rewriteOrigin } from '#shared/core/domain/url-rewrites.js';
import type { InstallPageOutcome } from '#shared/core/use-cases/open-install-page.js';
import { escapeHtml, htmlPage } from './responses.js';

/**
 * The pages of the install frame. They render inside the portal's iframe, so unlike every other page
 * of the service they must allow framing — by that portal only: `frame-ancestors {portal origin}`, and
 * no `X-Frame-Options` (its only values, DENY and SAMEORIGIN, would both block the portal).
 */

/** What the pages need from the configuration. */
export interface InstallPageSettings {
  /** `BX24_LIBRARY_URL`: the Bitrix24 JS library the page loads. */
  readonly libraryUrl: string;
  /**
   * `BITRIX_URL_REWRITES`: where the browser really reaches a portal. The data keeps the portal's real
   * origin; `frame-ancestors` must name the one the browser sees (the emulator's, in a local run).
   */
  readonly urlRewrites: Readonly<Record<string, string>>;
}

/** Headers that let exactly `frameOrigin` frame the page (none: nobody may). */
export function frameHeaders(frameOrigin: string | undefined): Record<string, string> {
  const ancestors = frameOrigin === undefined ? "'none'" : frameOrigin;
  return {
    'Content-Security-Policy': `frame-ancestors ${ancestors}; base-uri 'none'; object-src 'none'; form-action 'self'`,
  };
}

const library = (url: string) => `<script src="${escapeHtml(url)}"></script>`;

/** Finishes the installation: until this runs, Bitrix24 sends no events and shows no placements. */
const INSTALL_FINISH = '<script>BX24.init(function () { BX24.installFinish(); });</script>';

/**
 * A later open of the main page: if Bitrix24 still reports the app as not installed (the install
 * event arrived before the frame, so we never saw a first install), finish it; otherwise do nothing.
 */
const FINISH_IF_UNFINISHED = `<script>BX24.init(function () {
  BX24.callMethod('app.info', {}, function (result) {
    var info = result.error() ? null : result.data();
    if (info && info.INSTALLED === false) { BX24.installFinish(); }
  });
});</script>`;

/**
 * Renders the page for an install-frame outcome.
 *
 * @example
 * return installPage(outcome, { libraryUrl: config.BX24_LIBRARY_URL, urlRewrites: config.BITRIX_URL_REWRITES });
 */
export function installPage(
  outcome: InstallPageOutcome,
  settings: InstallPageSettings,
): APIGatewayProxyStructuredResultV2 {
  const frameOrigin =
    outcome.frameOrigin === undefined ? undefined : rewriteOrigin(outcome.frameOrigin, settings.urlRewrites);
  const headers = frameHeaders(frameOrigin);
  const script = library(settings.libraryUrl);
  switch (outcome.kind) {
    case 'installing':
      return htmlPage({
        title: 'Application installed',
        headers,
        headHtml: `${script}\n${INSTALL_FINISH}`,
        bodyHtml: `<h1 class="ok">Application installed</h1>
<p>The app is now connected to <strong>${escapeHtml(outcome.portal)}</strong>. Bitrix24 finishes the installation and opens it.</p>`,
      });
    case 'connected':
      return htmlPage({
        title: 'Connected',
        headers,
        ...(outcome.placement === 'DEFAULT' ? { headHtml: `${script}\n${FINISH_IF_UNFINISHED}` } : {}),
        bodyHtml: `<h1 class="ok">Connected</h1>
<p>The app is connected to <strong>${escapeHtml(outcome.portal)}</strong>.</p>`,
      });
    case 'pending':
      return htmlPage({
        statusCode: 202,
        title: 'Almost there',
        headers,
        bodyHtml: `<h1>Almost there</h1>
<p>The Bitrix24 authorization server did not answer in time. Your request is saved and will be finished in the background.</p>
<p>Please open the app again in a few minutes.</p>`,
      });
    case 'lost':
      return htmlPage({
        statusCode: 503,
        title: 'Could not save the connection',
        headers,
        bodyHtml: `<h1 class="err">Could not save the connection</h1>
<p>Bitrix24 confirmed this installation, but the app could not save its connection. The app's operators have been told.</p>
<p>Please open the app again in a few minutes; every open brings a new connection.</p>`,
      });
    case 'refused':
      return htmlPage({
        statusCode: 403,
        title: 'Could not verify this installation',
        headers,
        bodyHtml: `<h1 class="err">Could not verify this installation</h1>
<p>${
          outcome.reason === 'uninstalled'
            ? 'The app was removed from this Bitrix24 meanwhile. Install it again from the Bitrix24 marketplace or the app settings.'
            : 'The Bitrix24 authorization server did not confirm that this request comes from Bitrix24 for this app. Nothing was stored.'
        }</p>
<p>Open the app again from your Bitrix24. If this keeps happening, reinstall the app.</p>`,
      });
    case 'invalid':
      return htmlPage({
        statusCode: 400,
        title: 'Incomplete request',
        headers,
        bodyHtml: `<h1 class="err">Incomplete request</h1>
<p>Bitrix24 did not send what the installation needs (${escapeHtml(outcome.problem)}). Nothing was stored.</p>
<p>Open the app again from your Bitrix24.</p>`,
      });
    case 'not_in_frame':
      return htmlPage({
        title: 'Open this app from Bitrix24',
        headers,
        bodyHtml: `<h1>Open this app from Bitrix24</h1>
<p>This is the installation page of a Bitrix24 application. It works only inside Bitrix24, which opens it with the data it needs.</p>
<p>To install the app, open <em>Applications</em> in your Bitrix24 and install it from there; to use it, open it from the Bitrix24 menu.</p>`,
      });
  }
}
