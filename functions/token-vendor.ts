import type { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { DONE_ANSWER, tokenAnswer } from '#shared/core/domain/vendor-contract.js';
import type { MetricsRecorder } from '#shared/core/ports/metrics.js';
import {
  recordPortalMove,
  recordTokenUse,
  type VendDeps,
  vendAccessToken,
} from '#shared/core/use-cases/vend-access-token.js';
import { vendorHandler } from '#shared/edge/vendor-handler.js';
import { type Config, loadConfig, refreshBudgetMs } from '#shared/runtime/config.js';
import { wire } from '#shared/runtime/wiring.js';

export interface TokenVendorDeps {
  readonly vendor: VendDeps;
  readonly logger: Logger;
  readonly metrics: MetricsRecorder;
  readonly config: Pick<
    Config,
    'BITRIX_HTTP_TIMEOUT_MS' | 'DYNAMODB_MAX_ATTEMPTS' | 'DYNAMODB_REQUEST_TIMEOUT_MS' | 'DYNAMODB_CONNECT_TIMEOUT_MS'
  >;
}

/**
 * The token vendor (Lambda Invoke; contract v1 in docs/CONSUMERS.md): consumers' access tokens through
 * the one refresh path, records of use, and confirmed portal moves. Consumers only read the token
 * table; every write to it happens here or in the service's other functions.
 */
export function makeTokenVendor(deps: TokenVendorDeps) {
  const { vendor, logger, metrics } = deps;
  const refreshMs = refreshBudgetMs(deps.config);
  // Waiting for another worker's lease ends in time for one refresh of our own within the invocation.
  const waitWithin = (context: Context) => Math.max(0, context.getRemainingTimeInMillis() - refreshMs);
  return vendorHandler(
    async (request, context) => {
      switch (request.action) {
        case 'getAccessToken': {
          const waitForLeaseMs = Math.min(vendor.refresh.settings.leaseWaitMs, waitWithin(context));
          return tokenAnswer(await vendAccessToken(request, vendor, { waitForLeaseMs }));
        }
        case 'recordUse':
          await recordTokenUse(request, vendor);
          return DONE_ANSWER;
        case 'portalMoved':
          await recordPortalMove(request, vendor);
          return DONE_ANSWER;
      }
    },
    { logger, metrics },
  );
}

export const handler = makeTokenVendor(wire(loadConfig()));
