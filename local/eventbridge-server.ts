import { createServer, type Server } from 'node:http';

/** One entry as `PutEvents` received it. */
export interface ReceivedEvent {
  readonly EventBusName?: string;
  readonly Source?: string;
  readonly DetailType?: string;
  readonly Detail?: string;
}

/** A local stand-in for EventBridge's `PutEvents` (EventBridge has no local server). */
export interface EventBridgeServer {
  /** Give it to the SDK as `AWS_ENDPOINT_URL_EVENTBRIDGE`. */
  readonly endpoint: string;
  /** Every entry received, in order. */
  readonly events: ReceivedEvent[];
  stop(): Promise<void>;
}

/**
 * Serves the JSON 1.1 protocol the AWS SDK speaks (`x-amz-target: AWSEvents.PutEvents`) on 127.0.0.1
 * and keeps the entries, so tests can read what a publisher sent.
 */
export async function startEventBridgeServer(port = 0): Promise<EventBridgeServer> {
  const events: ReceivedEvent[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(body));
      };
      if (req.headers['x-amz-target'] !== 'AWSEvents.PutEvents') {
        reply(400, { __type: 'UnknownOperationException', message: 'only PutEvents is served' });
        return;
      }
      let entries: ReceivedEvent[];
      try {
        entries = (JSON.parse(Buffer.concat(chunks).toString()) as { Entries?: ReceivedEvent[] }).Entries ?? [];
      } catch {
        reply(400, { __type: 'ValidationException', message: 'body is not JSON' });
        return;
      }
      events.push(...entries);
      reply(200, {
        FailedEntryCount: 0,
        Entries: entries.map((_, i) => ({ EventId: `local-${events.length - entries.length + i}` })),
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    events,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
