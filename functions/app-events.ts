import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { PowertoolsMetricsRecorder } from '#shared/adapters/powertools-metrics-recorder.js';
import type { MetricsRecorder } from '#shared/core/ports/metrics-recorder.js';
import { type HandleAppEventDeps, handleAppEvent } from '#shared/core/use-cases/handle-app-event.js';
import { appEventResponse } from '#shared/edge/app-event-responses.js';
import { formBody, parsedBody } from '#shared/edge/form-body.js';
import { httpHandler } from '#shared/edge/http-handler.js';
import { loadConfig } from '#shared/runtime/config.js';
import { metrics } from '#shared/runtime/metrics.js';
import { lifecycleDependencies } from '#shared/runtime/wiring.js';

/**
 * POST /bitrix/events — Bitrix24 event webhooks (ONAPPINSTALL, ONAPPUPDATE, ONAPPUNINSTALL; others are
 * acknowledged and ignored). The body is credentials: it is never logged.
 */
export function appEventsHandler(
  deps: HandleAppEventDeps,
  options: { readonly maxBodyBytes: number; readonly metrics?: MetricsRecorder },
) {
  const recorder = options.metrics ?? new PowertoolsMetricsRecorder(metrics);
  return httpHandler(async (event) => appEventResponse(await handleAppEvent(parsedBody(event), deps), recorder))
    .use(logMetrics(metrics))
    .use(formBody({ maxBytes: options.maxBodyBytes }));
}

const config = loadConfig();
export const handler = appEventsHandler(lifecycleDependencies(config), {
  maxBodyBytes: config.LIFECYCLE_BODY_MAX_BYTES,
});
