import type { Logger } from '@aws-lambda-powertools/logger';
import {
  type CompleteAuthorizationDeps,
  completeAuthorization,
  outcomeLogKeys,
} from '#shared/core/use-cases/complete-authorization.js';
import { httpHandler } from '#shared/edge/http-handler.js';
import { authorizationPage, readBindingCookie } from '#shared/edge/oauth-pages.js';
import { loadConfig } from '#shared/runtime/config.js';
import { wire } from '#shared/runtime/wiring.js';

export interface OAuthCallbackDeps {
  readonly completeAuthorization: CompleteAuthorizationDeps;
  readonly logger: Logger;
}

/** GET /oauth/callback?code&state&domain&member_id&scope&server_domain (or `error`) — the portal's redirect back. */
export function makeOAuthCallback(deps: OAuthCallbackDeps) {
  const { completeAuthorization: authorization, logger } = deps;
  return httpHandler(
    async (event) => {
      // The query carries the code and the state: it is never logged.
      const {
        code,
        error,
        state,
        domain,
        member_id: memberId,
        scope,
        server_domain: serverDomain,
      } = event.queryStringParameters ?? {};
      const browserBinding = readBindingCookie(event.cookies);
      const outcome = await completeAuthorization(
        { code, error, state, domain, memberId, scope, serverDomain, browserBinding },
        authorization,
      );
      if (outcome.kind === 'connected') logger.info('authorization completed', outcomeLogKeys(outcome));
      else logger.warn('authorization refused', outcomeLogKeys(outcome));
      return authorizationPage(outcome);
    },
    { logger },
  );
}

export const handler = makeOAuthCallback(wire(loadConfig()));
