import { SQSClient } from '@aws-sdk/client-sqs';
import { SqsRefreshQueue } from '#shared/adapters/sqs/refresh-queue.js';
import { ConfigError } from '#shared/core/domain/errors.js';
import { once } from '#shared/core/domain/once.js';
import type { RefreshQueue } from '#shared/core/ports/refresh-queue.js';
import type { DispatchDeps } from '#shared/core/use-cases/dispatch-due-tokens.js';
import type { Config } from './config.js';
import { type WireOptions, type Wiring, wire } from './wiring.js';

/** The dispatcher's composition root: the service's wiring plus the refresh queue. */
export interface DispatchWiring extends Pick<Wiring, 'config' | 'logger' | 'metrics'> {
  readonly dispatch: DispatchDeps;
}

/**
 * Wires the dispatcher for `config`: the due index through the service's wiring, the refresh queue on
 * SQS. Apart from `wire` so that the SQS client is bundled into the one function that sends, not into
 * every function (each cold start compiles its whole bundle). `REFRESH_QUEUE_URL` is checked when the
 * dispatcher first sends, not at import.
 *
 * @example
 * export const handler = makeDispatchRefreshes(wireDispatch(loadConfig()));
 */
export function wireDispatch(config: Config, options: WireOptions & { readonly sqs?: SQSClient } = {}): DispatchWiring {
  const wiring = wire(config, options);
  const queue = once((): RefreshQueue => {
    const queueUrl = config.REFRESH_QUEUE_URL;
    if (queueUrl === undefined) {
      return {
        enqueue: async () => {
          throw new ConfigError('REFRESH_QUEUE_URL is not set: the dispatcher has no queue');
        },
      };
    }
    const aws = options.aws;
    const client =
      options.sqs ??
      new SQSClient({
        ...(aws?.region === undefined ? {} : { region: aws.region }),
        ...(aws?.credentials === undefined ? {} : { credentials: { ...aws.credentials } }),
        ...(aws?.endpoints?.sqs === undefined ? {} : { endpoint: aws.endpoints.sqs }),
      });
    return new SqsRefreshQueue({ client, queueUrl });
  });
  const dispatch = once(
    (): DispatchDeps => ({
      repository: wiring.tokens,
      queue: { enqueue: (requests) => queue().enqueue(requests) },
      metrics: wiring.metrics,
      logger: wiring.logger,
      clock: wiring.clock,
    }),
  );
  return {
    config,
    get logger() {
      return wiring.logger;
    },
    get metrics() {
      return wiring.metrics;
    },
    get dispatch() {
      return dispatch();
    },
  };
}
