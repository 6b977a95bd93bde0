import type { Logger } from '@aws-lambda-powertools/logger';
import type { MetricsRecorder } from '#shared/core/ports/metrics.js';
import { type HandleAppEventDeps, handleAppEvent } from '#shared/core/use-cases/handle-app-event.js';
import { appEventResponse } from '#shared/edge/app-event-responses.js';
import { formBody, parsedBody } from '#shared/edge/form-body.js';
import { httpHandler } from '#shared/edge/http-handler.js';
import { type Config, loadConfig } from '#shared/runtime/config.js';
import { wire } from '#shared/runtime/wiring.js';

export interface AppEventsDeps {
  readonly lifecycle: HandleAppEventDeps;
  readonly logger: Logger;
  readonly metrics: MetricsRecorder;
  readonly config: Pick<Config, 'LIFECYCLE_BODY_MAX_BYTES'>;
}

/**
 * POST /bitrix/events — Bitrix24 event webhooks (ONAPPINSTALL, ONAPPUPDATE, ONAPPUNINSTALL; others are
 * acknowledged and ignored). The body is credentials: it is never logged.
 */
export function makeAppEvents(deps: AppEventsDeps) {
  // Read once, here: in Lambda the adapters are built during init, not on the first event.
  const { lifecycle, logger, metrics, config } = deps;
  return httpHandler(
    async (event) => appEventResponse(await handleAppEvent(parsedBody(event), lifecycle), { logger, metrics }),
    { logger, metrics },
  ).use(formBody({ maxBytes: config.LIFECYCLE_BODY_MAX_BYTES }));
}

export const handler = makeAppEvents(wire(loadConfig()));
