import { loadConfig } from '../shared/config.js';
import { lifecycleDependencies } from '../shared/dependencies.js';
import { formBody, parsedBody } from '../shared/http/form-body.js';
import { httpHandler } from '../shared/http/http-handler.js';
import { installPage } from '../shared/http/install-pages.js';
import { logger } from '../shared/logger.js';
import { type OpenInstallPageDeps, openInstallPage } from '../shared/use-cases/open-install-page.js';

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
