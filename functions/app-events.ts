import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { PowertoolsMetricsRecorder } from '../shared/adapters/powertools-metrics-recorder.js';
import { loadConfig } from '../shared/config.js';
import { lifecycleDependencies } from '../shared/dependencies.js';
import { appEventResponse } from '../shared/http/app-event-responses.js';
import { formBody, parsedBody } from '../shared/http/form-body.js';
import { httpHandler } from '../shared/http/http-handler.js';
import { metrics } from '../shared/metrics.js';
import type { MetricsRecorder } from '../shared/ports/metrics-recorder.js';
import { type HandleAppEventDeps, handleAppEvent } from '../shared/use-cases/handle-app-event.js';

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
