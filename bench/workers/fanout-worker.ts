/**
 * A refresh worker in its own process, wired as `functions/refresh-worker.ts` is
 * (`makeRefreshWorker(wire(loadConfig()))`: DynamoDB, Secrets Manager, the HTTP OAuth client), fed by
 * the local event source mapping (`local/queue-event-source.ts`, one invocation at a time, batches of
 * 10) from the queue named by `REFRESH_QUEUE_URL`. Time is the emulator's instant the parent sends.
 *
 * Commands: `{ op: 'start', now }` starts polling; `{ op: 'stop' }` stops and answers the process's
 * CPU time since `start` (user + system, milliseconds) and the batches it took.
 */
import '#bench/lib/environment.js';
import { SQSClient } from '@aws-sdk/client-sqs';
import { serveWorker } from '#bench/lib/worker-process.js';
import { makeRefreshWorker } from '#functions/refresh-worker.js';
import { localContext } from '#local/lambda-http-server.js';
import { type QueueEventSource, startQueueEventSource } from '#local/queue-event-source.js';
import { loadConfig } from '#shared/runtime/config.js';
import { wire } from '#shared/runtime/wiring.js';

let now = 0;
const config = loadConfig();
const handler = makeRefreshWorker(wire(config, { clock: () => now }));
const client = new SQSClient({});
let source: QueueEventSource | undefined;
let cpuAtStart = process.cpuUsage();
let batches = 0;

serveWorker(async (command) => {
  if (command.op === 'start') {
    now = Number(command.now);
    batches = 0;
    cpuAtStart = process.cpuUsage();
    source = startQueueEventSource({
      client,
      queueUrl: config.REFRESH_QUEUE_URL ?? '',
      handler: async (event, context) => {
        batches += 1;
        return handler(event, context);
      },
      context: () => localContext('refresh-worker', 60_000),
      maxConcurrency: 1,
      waitSeconds: 1,
    });
    return {};
  }
  await source?.stop();
  const cpu = process.cpuUsage(cpuAtStart);
  return { cpuMs: (cpu.user + cpu.system) / 1000, batches };
});
