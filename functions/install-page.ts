import type { Logger } from '@aws-lambda-powertools/logger';
import { type OpenInstallPageDeps, openInstallPage } from '#shared/core/use-cases/open-install-page.js';
import { formBody, parsedBody } from '#shared/edge/form-body.js';
import { httpHandler } from '#shared/edge/http-handler.js';
import { installPage } from '#shared/edge/install-pages.js';
import { type Config, loadConfig } from '#shared/runtime/config.js';
import { wire } from '#shared/runtime/wiring.js';

export interface InstallPageDeps {
  readonly lifecycle: OpenInstallPageDeps;
  readonly logger: Logger;
  readonly config: Pick<Config, 'LIFECYCLE_BODY_MAX_BYTES' | 'BX24_LIBRARY_URL' | 'BITRIX_URL_REWRITES'>;
}

/**
 * GET|POST /bitrix/install — the install frame and later app opens. The POST body carries tokens: it
 * is never logged.
 */
export function makeInstallPage(deps: InstallPageDeps) {
  const { lifecycle, logger, config } = deps;
  return httpHandler(
    async (event) => {
      const outcome = await openInstallPage(
        { method: event.requestContext.http.method, query: event.queryStringParameters, body: parsedBody(event) },
        lifecycle,
      );
      logger.info('install page', {
        outcome: outcome.kind,
        ...('reason' in outcome ? { reason: outcome.reason } : {}),
      });
      return installPage(outcome, { libraryUrl: config.BX24_LIBRARY_URL, urlRewrites: config.BITRIX_URL_REWRITES });
    },
    { logger },
  ).use(formBody({ maxBytes: config.LIFECYCLE_BODY_MAX_BYTES }));
}

export const handler = makeInstallPage(wire(loadConfig()));
