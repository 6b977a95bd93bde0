import { loadConfig } from '../shared/config.js';
import { bitrixOAuthClient, oauthStateRepository, tokenRepository } from '../shared/dependencies.js';
import { httpHandler } from '../shared/http/http-handler.js';
import { authorizationPage, readBindingCookie } from '../shared/http/oauth-pages.js';
import { logger } from '../shared/logger.js';
import {
  completeAuthorization,
  outcomeLogKeys,
  policyFirstRefreshAt,
} from '../shared/use-cases/complete-authorization.js';
import { refreshSettings } from '../shared/use-cases/refresh-token-set.js';

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
