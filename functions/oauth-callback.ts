import {
  completeAuthorization,
  outcomeLogKeys,
  policyFirstRefreshAt,
} from '#shared/core/use-cases/complete-authorization.js';
import { refreshSettings } from '#shared/core/use-cases/refresh-token-set.js';
import { httpHandler } from '#shared/edge/http-handler.js';
import { authorizationPage, readBindingCookie } from '#shared/edge/oauth-pages.js';
import { loadConfig } from '#shared/runtime/config.js';
import { logger } from '#shared/runtime/logger.js';
import { bitrixOAuthClient, oauthStateRepository, tokenRepository } from '#shared/runtime/wiring.js';

const config = loadConfig();
const { policy, refreshTokenLifetimeMs } = refreshSettings(config);
const deps = {
  states: oauthStateRepository(config),
  tokens: tokenRepository(config),
  oauth: bitrixOAuthClient(config),
  allowedAuthServers: config.BITRIX_AUTH_SERVERS,
  refreshTokenLifetimeMs,
  nextRefreshAt: policyFirstRefreshAt(policy, refreshTokenLifetimeMs, Date.now),
  now: Date.now,
};

/** GET /oauth/callback?code&state&domain&member_id&scope&server_domain — the portal's redirect back. */
export const handler = httpHandler(async (event) => {
  // The query carries the code and the state: it is never logged.
  const {
    code,
    state,
    domain,
    member_id: memberId,
    scope,
    server_domain: serverDomain,
  } = event.queryStringParameters ?? {};
  const browserBinding = readBindingCookie(event.cookies);
  const outcome = await completeAuthorization(
    { code, state, domain, memberId, scope, serverDomain, browserBinding },
    deps,
  );
  if (outcome.kind === 'connected') logger.info('authorization completed', outcomeLogKeys(outcome));
  else logger.warn('authorization refused', outcomeLogKeys(outcome));
  return authorizationPage(outcome);
});
