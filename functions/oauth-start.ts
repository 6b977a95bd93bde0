import type { Logger } from '@aws-lambda-powertools/logger';
import { type StartAuthorizationDeps, startAuthorization } from '#shared/core/use-cases/start-authorization.js';
import { httpHandler } from '#shared/edge/http-handler.js';
import { bindingCookie, cookieSecure, readBindingCookie, startFormPage } from '#shared/edge/oauth-pages.js';
import { redirect } from '#shared/edge/responses.js';
import { type Config, loadConfig } from '#shared/runtime/config.js';
import { wire } from '#shared/runtime/wiring.js';

export interface OAuthStartDeps {
  readonly startAuthorization: StartAuthorizationDeps;
  readonly logger: Logger;
  readonly config: Pick<Config, 'OAUTH_COOKIE_SECURE' | 'OAUTH_STATE_TTL_SECONDS'>;
}

/** GET /oauth/start?portal=… — sends the browser to the portal's consent page (no portal: a form). */
export function makeOAuthStart(deps: OAuthStartDeps) {
  const { startAuthorization: authorization, logger, config } = deps;
  return httpHandler(
    async (event) => {
      const portal = event.queryStringParameters?.portal;
      if (portal === undefined) return startFormPage();
      const started = await startAuthorization(
        { portal, browserBinding: readBindingCookie(event.cookies) },
        authorization,
      );
      if (started.kind === 'invalid_portal') return startFormPage({ error: started.message, portal });
      logger.info('authorization started', { portal: started.portal });
      const secure = cookieSecure(config.OAUTH_COOKIE_SECURE, event.headers);
      const cookie = bindingCookie(started.browserBinding, {
        secure,
        maxAgeSeconds: config.OAUTH_STATE_TTL_SECONDS,
      });
      return redirect(started.authorizeUrl, [cookie]);
    },
    { logger },
  );
}

export const handler = makeOAuthStart(wire(loadConfig()));
