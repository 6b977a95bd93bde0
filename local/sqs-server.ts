import { createHash, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';

/** How a local queue behaves; the names match the SQS queue attributes they stand for. */
export interface LocalQueueOptions {
  /** `VisibilityTimeout`: how long a received message stays hidden before it is delivered again. @default 30_000 */
  readonly visibilityTimeoutMs?: number;
  /** The redrive policy: after this many receives a message moves to `deadLetterQueue`. */
  readonly maxReceiveCount?: number;
  /** Name of another queue of this server. */
  readonly deadLetterQueue?: string;
}

interface StoredMessage {
  readonly id: string;
  readonly body: string;
  readonly md5: string;
  receiveCount: number;
  visibleAt: number;
  receiptHandle?: string;
  readonly sentAt: number;
}

interface LocalQueue {
  readonly options: LocalQueueOptions;
  messages: StoredMessage[];
}

/** A local stand-in for the SQS operations the service and its local event source use. */
export interface SqsServer {
  /** Give it to the SDK as `AWS_ENDPOINT_URL_SQS` (the SDK also sends to the host of a queue URL). */
  readonly endpoint: string;
  queueUrl(name: string): string;
  /** Messages a queue holds, visible or in flight. */
  depth(name: string): number;
  /** Bodies of the messages a queue holds (a dead-letter queue, read by a test). */
  bodies(name: string): string[];
  stop(): Promise<void>;
}

const ACCOUNT = '000000000000';
const md5 = (text: string) => createHash('md5').update(text).digest('hex');

/**
 * Serves the AWS JSON 1.0 protocol of SQS (`x-amz-target: AmazonSQS.*`) on 127.0.0.1 for standard
 * queues: `SendMessage(Batch)`, `ReceiveMessage` (with the visibility timeout and the redrive to a
 * dead-letter queue), `DeleteMessage(Batch)`, `GetQueueAttributes` (the approximate counts). Enough for
 * the SQS adapter and the local event source mapping to run as they do against AWS; message order and
 * delivery are as loose as SQS's own (at least once).
 */
export async function startSqsServer(queues: Readonly<Record<string, LocalQueueOptions>>): Promise<SqsServer> {
  const state = new Map<string, LocalQueue>(
    Object.entries(queues).map(([name, options]) => [name, { options, messages: [] }]),
  );
  let endpoint = '';
  const queueOf = (url: unknown): LocalQueue | undefined =>
    typeof url === 'string' ? state.get(url.split('/').at(-1) ?? '') : undefined;

  const receive = (queue: LocalQueue, max: number): StoredMessage[] => {
    const now = Date.now();
    const taken: StoredMessage[] = [];
    for (const message of [...queue.messages]) {
      if (taken.length >= max) break;
      if (message.visibleAt > now) continue;
      const { maxReceiveCount, deadLetterQueue } = queue.options;
      const target = deadLetterQueue === undefined ? undefined : state.get(deadLetterQueue);
      if (maxReceiveCount !== undefined && target !== undefined && message.receiveCount >= maxReceiveCount) {
        // The redrive policy: moved, not delivered.
        queue.messages = queue.messages.filter((m) => m !== message);
        target.messages.push({ ...message, receiveCount: 0, visibleAt: now });
        continue;
      }
      message.receiveCount += 1;
      message.visibleAt = now + (queue.options.visibilityTimeoutMs ?? 30_000);
      message.receiptHandle = randomUUID();
      taken.push(message);
    }
    return taken;
  };

  const operations: Record<string, (input: Record<string, unknown>) => Promise<unknown> | unknown> = {
    SendMessage: (input) => {
      const queue = queueOf(input.QueueUrl);
      if (queue === undefined) throw new QueueError('QueueDoesNotExist', 'no such queue');
      const body = String(input.MessageBody ?? '');
      const id = randomUUID();
      const delay = Number(input.DelaySeconds ?? 0) * 1000;
      queue.messages.push({
        id,
        body,
        md5: md5(body),
        receiveCount: 0,
        visibleAt: Date.now() + delay,
        sentAt: Date.now(),
      });
      return { MessageId: id, MD5OfMessageBody: md5(body) };
    },
    SendMessageBatch: (input) => {
      const queue = queueOf(input.QueueUrl);
      if (queue === undefined) throw new QueueError('QueueDoesNotExist', 'no such queue');
      const entries = (input.Entries ?? []) as { Id: string; MessageBody: string; DelaySeconds?: number }[];
      if (entries.length === 0 || entries.length > 10) {
        throw new QueueError('TooManyEntriesInBatchRequest', 'a batch holds 1 to 10 entries');
      }
      const now = Date.now();
      const successful = entries.map((entry) => {
        const id = randomUUID();
        queue.messages.push({
          id,
          body: entry.MessageBody,
          md5: md5(entry.MessageBody),
          receiveCount: 0,
          visibleAt: now + (entry.DelaySeconds ?? 0) * 1000,
          sentAt: now,
        });
        return { Id: entry.Id, MessageId: id, MD5OfMessageBody: md5(entry.MessageBody) };
      });
      return { Successful: successful, Failed: [] };
    },
    ReceiveMessage: async (input) => {
      const queue = queueOf(input.QueueUrl);
      if (queue === undefined) throw new QueueError('QueueDoesNotExist', 'no such queue');
      const max = Math.min(10, Number(input.MaxNumberOfMessages ?? 1));
      const waitUntil = Date.now() + Math.min(20, Number(input.WaitTimeSeconds ?? 0)) * 1000;
      let taken = receive(queue, max);
      // Long polling, in short steps: an empty answer only once the wait is over.
      while (taken.length === 0 && Date.now() < waitUntil) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        taken = receive(queue, max);
      }
      return {
        Messages: taken.map((m) => ({
          MessageId: m.id,
          ReceiptHandle: m.receiptHandle,
          Body: m.body,
          MD5OfBody: m.md5,
          Attributes: {
            ApproximateReceiveCount: String(m.receiveCount),
            SentTimestamp: String(m.sentAt),
          },
        })),
      };
    },
    DeleteMessage: (input) => {
      const queue = queueOf(input.QueueUrl);
      if (queue === undefined) throw new QueueError('QueueDoesNotExist', 'no such queue');
      queue.messages = queue.messages.filter((m) => m.receiptHandle !== input.ReceiptHandle);
      return {};
    },
    DeleteMessageBatch: (input) => {
      const queue = queueOf(input.QueueUrl);
      if (queue === undefined) throw new QueueError('QueueDoesNotExist', 'no such queue');
      const entries = (input.Entries ?? []) as { Id: string; ReceiptHandle: string }[];
      const handles = new Set(entries.map((e) => e.ReceiptHandle));
      queue.messages = queue.messages.filter((m) => m.receiptHandle === undefined || !handles.has(m.receiptHandle));
      return { Successful: entries.map((e) => ({ Id: e.Id })), Failed: [] };
    },
    GetQueueAttributes: (input) => {
      const queue = queueOf(input.QueueUrl);
      if (queue === undefined) throw new QueueError('QueueDoesNotExist', 'no such queue');
      const now = Date.now();
      const visible = queue.messages.filter((m) => m.visibleAt <= now).length;
      return {
        Attributes: {
          ApproximateNumberOfMessages: String(visible),
          ApproximateNumberOfMessagesNotVisible: String(queue.messages.length - visible),
        },
      };
    },
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(JSON.stringify(body));
      };
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = operations[target.replace(/^AmazonSQS\./, '')];
      if (!target.startsWith('AmazonSQS.') || operation === undefined) {
        reply(400, { __type: 'com.amazonaws.sqs#UnsupportedOperation', message: `${target} is not served` });
        return;
      }
      let input: Record<string, unknown>;
      try {
        input = JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown>;
      } catch {
        reply(400, { __type: 'com.amazonaws.sqs#InvalidParameterValue', message: 'body is not JSON' });
        return;
      }
      Promise.resolve()
        .then(() => operation(input))
        .then(
          (output) => reply(200, output),
          (error: unknown) =>
            error instanceof QueueError
              ? reply(400, { __type: `com.amazonaws.sqs#${error.type}`, message: error.message })
              : reply(500, { __type: 'com.amazonaws.sqs#InternalError', message: String(error) }),
        );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  endpoint = `http://127.0.0.1:${address.port}`;
  return {
    endpoint,
    queueUrl: (name) => `${endpoint}/${ACCOUNT}/${name}`,
    depth: (name) => state.get(name)?.messages.length ?? 0,
    bodies: (name) => (state.get(name)?.messages ?? []).map((m) => m.body),
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

class QueueError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
    this.name = 'QueueError';
  }
}
