import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { describe, expect, it } from 'vitest';
import { localContext } from '#local/lambda-http-server.js';
import { PowertoolsMetricsRecorder } from '#shared/adapters/powertools-metrics-recorder.js';
import { httpHandler } from '#shared/edge/http-handler.js';
import { json } from '#shared/edge/responses.js';
import { scheduledHandler } from '#shared/edge/scheduled-handler.js';
import { captureOutput } from '#test/helpers/vitest/capture-output.js';

const WARNING = 'No application metrics to publish';

function recorder() {
  return new PowertoolsMetricsRecorder(new Metrics({ namespace: 'Test', serviceName: 'test' }));
}

const logger = new Logger({ logLevel: 'SILENT' });

describe('flushMetrics', () => {
  it('is needed: Powertools warns when asked to publish an invocation that recorded nothing', async () => {
    // Act
    const output = await captureOutput(async () => {
      new Metrics({ namespace: 'Test', serviceName: 'test' }).publishStoredMetrics();
    });

    // Assess
    expect(output).toContain(WARNING);
  });

  it('publishes nothing and prints no warning after scheduled and HTTP invocations that recorded nothing', async () => {
    // Prepare
    const idleJob = scheduledHandler(async () => ({ due: 0 }), { logger, metrics: recorder() });
    const countingMetrics = recorder();
    const countingJob = scheduledHandler(
      async () => {
        countingMetrics.count('TokensRefreshed');
        return { due: 1 };
      },
      { logger, metrics: countingMetrics },
    );
    const page = httpHandler(async () => json(200, { ok: true }), { logger, metrics: recorder() });
    const event = {
      version: '2.0',
      routeKey: 'GET /status',
      rawPath: '/status',
      rawQueryString: '',
      headers: {},
      isBase64Encoded: false,
      requestContext: { http: { method: 'GET', path: '/status' } },
    } as unknown as Parameters<typeof page>[0];

    // Act
    const output = await captureOutput(async () => {
      for (let run = 0; run < 9; run += 1) {
        await idleJob({}, localContext('dispatch-refreshes'));
        await page(event, localContext('status'));
      }
      await countingJob({}, localContext('dispatch-refreshes'));
    });

    // Assess
    expect(output).not.toContain(WARNING);
  });
});
