import { type OpenInstallPageDeps, openInstallPage } from '#shared/core/use-cases/open-install-page.js';
import { formBody, parsedBody } from '#shared/edge/form-body.js';
import { httpHandler } from '#shared/edge/http-handler.js';
import { installPage } from '#shared/edge/install-pages.js';
import { loadConfig } from '#shared/runtime/config.js';
import { logger } from '#shared/runtime/logger.js';
import { lifecycleDependencies } from '#shared/runtime/wiring.js';

/**
 * GET|POST /bitrix/install — the install frame and later app opens. The POST body carries tokens: it
 * is never logged.
 */
export function installPageHandler(deps: OpenInstallPageDeps, options: { readonly maxBodyBytes: number }) {
  return httpHandler(async (event) => {
    const outcome = await openInstallPage(
      { method: event.requestContext.http.method, query: event.queryStringParameters, body: parsedBody(event) },
      deps,
    );
    logger.info('install page', { outcome: outcome.kind, ...('reason' in outcome ? { reason: outcome.reason } : {}) });
    return installPage(outcome);
  }).use(formBody({ maxBytes: options.maxBodyBytes }));
}

const config = loadConfig();
export const handler = installPageHandler(lifecycleDependencies(config), {
  maxBodyBytes: config.LIFECYCLE_BODY_MAX_BYTES,
});
