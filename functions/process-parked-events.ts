import type { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { METRIC_NAMES, type MetricsRecorder } from '#shared/core/ports/metrics.js';
import { finishParkedClaim, type InstallClaimDeps } from '#shared/core/use-cases/finish-install-claim.js';
import { finishParkedEvents } from '#shared/core/use-cases/finish-parked-events.js';
import { scheduledHandler } from '#shared/edge/scheduled-handler.js';
import { loadConfig } from '#shared/runtime/config.js';
import { wire } from '#shared/runtime/wiring.js';

/** Time kept back from the Lambda timeout for the last attempt and the summary. */
const SAFETY_MARGIN_MS = 10_000;

export interface ProcessParkedEventsDeps {
  readonly lifecycle: InstallClaimDeps;
  readonly logger: Logger;
  readonly metrics: MetricsRecorder;
}

/** One record of a table stream (DynamoDB Streams through an event source mapping), as far as we read it. */
interface StreamRecord {
  readonly eventName?: string;
  readonly dynamodb?: { readonly Keys?: unknown; readonly SequenceNumber?: string };
}

/** The answer to a stream batch: records to hand again (`ReportBatchItemFailures`). */
export interface StreamBatchResponse {
  readonly batchItemFailures: { readonly itemIdentifier: string }[];
}

/**
 * Finishes parked install claims, from two triggers:
 * - the token table's stream (keys only), filtered to newly parked claims: each is verified and stored
 *   within a second of its receipt, outside Bitrix24's wait;
 * - a schedule (EventBridge), which retries what could not be finished yet and catches anything the
 *   stream missed.
 * Both take a claim before working on it, so they never work on the same claim at once.
 */
export function makeProcessParkedEvents(deps: ProcessParkedEventsDeps) {
  const { lifecycle, logger, metrics } = deps;

  async function fromStream(records: readonly StreamRecord[]): Promise<StreamBatchResponse> {
    const failures: { itemIdentifier: string }[] = [];
    for (const record of records) {
      const key = record.eventName === 'INSERT' ? lifecycle.parked.claimKeyOf(record.dynamodb?.Keys) : undefined;
      if (key === undefined) continue;
      try {
        const outcome = await finishParkedClaim(key, lifecycle);
        logger.info('parked install claim processed', { memberId: key.memberId, outcome: outcome?.kind ?? 'not_due' });
        if (outcome !== undefined) countOutcome(outcome.kind);
      } catch (error) {
        // The claim stays parked (and due): the stream hands the record again, the schedule catches it.
        logger.error('parked install claim failed', { memberId: key.memberId, error });
        if (record.dynamodb?.SequenceNumber !== undefined) {
          failures.push({ itemIdentifier: record.dynamodb.SequenceNumber });
        }
      }
    }
    return { batchItemFailures: failures };
  }

  function countOutcome(kind: string): void {
    if (kind === 'registered' || kind === 'duplicate' || kind === 'stale') {
      metrics.count(METRIC_NAMES.parkedEventsFinished);
    }
    if (kind === 'refused') metrics.count(METRIC_NAMES.parkedEventsDropped);
  }

  async function onSchedule(context: Context) {
    const deadline = lifecycle.now() + Math.max(0, context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS);
    const summary = await finishParkedEvents(lifecycle, { deadline });
    logger.info('parked install claims processed', { ...summary });
    metrics.count(METRIC_NAMES.parkedEventsFinished, summary.finished);
    metrics.count(METRIC_NAMES.parkedEventsDropped, summary.dropped);
    metrics.count(METRIC_NAMES.parkedEventsBacklog, summary.backlog);
    return summary;
  }

  return scheduledHandler(
    async (context, event) => {
      const records = (event as { Records?: unknown } | null)?.Records;
      return Array.isArray(records) ? fromStream(records as StreamRecord[]) : onSchedule(context);
    },
    { logger, metrics },
  );
}

export const handler = makeProcessParkedEvents(wire(loadConfig()));
