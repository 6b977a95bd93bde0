import { startAuthorization } from '#shared/core/use-cases/start-authorization.js';
import { httpHandler } from '#shared/edge/http-handler.js';
import { bindingCookie, cookieSecure, readBindingCookie, startFormPage } from '#shared/edge/oauth-pages.js';
import { redirect } from '#shared/edge/responses.js';
import { loadConfig } from '#shared/runtime/config.js';
import { logger } from '#shared/runtime/logger.js';
import { clientCredentials, oauthStateRepository } from '#shared/runtime/wiring.js';

const config = loadConfig();
const deps = {
  states: oauthStateRepository(config),
  credentials: clientCredentials(config),
  stateTtlMs: config.OAUTH_STATE_TTL_SECONDS * 1000,
  urlRewrites: config.BITRIX_URL_REWRITES,
  now: Date.now,
};

/** GET /oauth/start?portal=… — sends the browser to the portal's consent page (no portal: a form). */
export const handler = httpHandler(async (event) => {
  const portal = event.queryStringParameters?.portal;
  if (portal === undefined) return startFormPage();
  const started = await startAuthorization({ portal, browserBinding: readBindingCookie(event.cookies) }, deps);
  if (started.kind === 'invalid_portal') return startFormPage({ error: started.message, portal });
  logger.info('authorization started', { portal: started.portal });
  const secure = cookieSecure(config.OAUTH_COOKIE_SECURE, event.headers);
  const cookie = bindingCookie(started.browserBinding, { secure, maxAgeSeconds: config.OAUTH_STATE_TTL_SECONDS });
  return redirect(started.authorizeUrl, [cookie]);
});
