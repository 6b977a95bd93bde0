import { createServer, request as forward, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { seededRandom } from './emulator/faults.js';

/**
 * A fault layer between the SDK and DynamoDB Local, on the wire: an HTTP proxy on 127.0.0.1 that
 * forwards DynamoDB's JSON protocol and, by scripted and seeded rules, answers instead of it. Point a
 * client's endpoint at `proxy.endpoint`; everything the rules leave alone reaches DynamoDB Local
 * unchanged. Nothing in the code under test knows it is there.
 *
 * Faults:
 * - `error`: HTTP 500 `InternalServerError` (the SDK retries it);
 * - `throttle`: HTTP 400 `ThrottlingException` or `ProvisionedThroughputExceededException` (retried);
 * - `hang`: no answer at all, until the client gives up (its request timeout);
 * - `reset`: the connection is closed before anything is forwarded (nothing applied);
 * - `lost`: the request is forwarded and applied, then the connection is closed before the answer
 *   arrives — the case where a write landed and its caller cannot know.
 *
 * @example
 * const proxy = await startDynamoDbFaultProxy({ target: ddb.endpoint, seed: 7 });
 * proxy.addRule({ operations: ['UpdateItem'], keyPrefixes: ['PORTAL#'], fault: { kind: 'lost' }, times: 1 });
 * const client = new DynamoDBClient({ endpoint: proxy.endpoint, maxAttempts: 1 });
 */

export type DynamoDbFault =
  | { readonly kind: 'error' }
  | { readonly kind: 'throttle'; readonly type?: 'ThrottlingException' | 'ProvisionedThroughputExceededException' }
  | { readonly kind: 'hang' }
  | { readonly kind: 'reset' }
  | { readonly kind: 'lost' };

/** What a rule sees of a request. */
export interface ProxiedRequest {
  /** `UpdateItem`, `PutItem`, `GetItem`, `Query`, `DeleteItem`, `BatchWriteItem`, `TransactWriteItems`, … */
  readonly operation: string;
  /** Partition key of the item (Key/Item; the first item of a batch or transaction), or `index:{name}` for index queries. */
  readonly pk: string | undefined;
  readonly sk: string | undefined;
  /** The request body as DynamoDB receives it (AttributeValue maps). */
  readonly body: Readonly<Record<string, unknown>>;
}

export interface FaultRule {
  /** Operations the rule applies to. @default every operation */
  readonly operations?: readonly string[];
  /** Key prefixes it applies to, matched against the partition key and the sort key. @default every key */
  readonly keyPrefixes?: readonly string[];
  /** A finer condition. @default always */
  readonly when?: (request: ProxiedRequest) => boolean;
  /** The fault; a list means one of them per faulted request, drawn from the proxy's seeded generator. */
  readonly fault: DynamoDbFault | readonly DynamoDbFault[];
  /** Chance per matching request, drawn from the proxy's seeded generator. @default 1 */
  readonly probability?: number;
  /** Most requests it faults, then it retires. @default unlimited */
  readonly times?: number;
}

export interface DynamoDbFaultProxy {
  /** `http://127.0.0.1:<port>`: the endpoint to give the SDK. */
  readonly endpoint: string;
  addRule(rule: FaultRule): void;
  /** Removes every rule; requests pass through again. */
  clear(): void;
  /** Requests seen per operation, and faults injected per `operation:kind`. */
  readonly counts: {
    readonly requests: Readonly<Record<string, number>>;
    readonly faults: Readonly<Record<string, number>>;
  };
  /** The requests seen since the last reset, in order (the latest 10,000): what a client really asked for. */
  readonly seen: readonly ProxiedRequest[];
  resetCounts(): void;
  stop(): Promise<void>;
}

interface AttributeValue {
  readonly S?: string;
}

function stringOf(value: unknown): string | undefined {
  return typeof value === 'object' && value !== null ? (value as AttributeValue).S : undefined;
}

function keyOf(map: unknown): { pk?: string | undefined; sk?: string | undefined } {
  if (typeof map !== 'object' || map === null) return {};
  const record = map as Record<string, unknown>;
  return { pk: stringOf(record.pk), sk: stringOf(record.sk) };
}

/** The item a request is about, as far as a rule needs to know. */
function describe(operation: string, body: Record<string, unknown>): ProxiedRequest {
  let key: { pk?: string | undefined; sk?: string | undefined } = {};
  if (body.Key !== undefined) key = keyOf(body.Key);
  else if (body.Item !== undefined) key = keyOf(body.Item);
  else if (operation === 'Query' || operation === 'Scan') {
    if (typeof body.IndexName === 'string') key = { pk: `index:${body.IndexName}` };
    else {
      const values = (body.ExpressionAttributeValues ?? {}) as Record<string, unknown>;
      key = { pk: stringOf(values[':pk']) };
    }
  } else if (body.RequestItems !== undefined) {
    const first = Object.values(body.RequestItems as Record<string, unknown[]>)[0]?.[0] as
      | { DeleteRequest?: { Key: unknown }; PutRequest?: { Item: unknown } }
      | undefined;
    key = keyOf(first?.DeleteRequest?.Key ?? first?.PutRequest?.Item);
  } else if (Array.isArray(body.TransactItems)) {
    const first = body.TransactItems[0] as Record<string, { Key?: unknown; Item?: unknown }> | undefined;
    const part = first === undefined ? undefined : Object.values(first)[0];
    key = keyOf(part?.Key ?? part?.Item);
  }
  return { operation, pk: key.pk, sk: key.sk, body };
}

function matches(rule: FaultRule, request: ProxiedRequest): boolean {
  if (rule.operations !== undefined && !rule.operations.includes(request.operation)) return false;
  if (rule.keyPrefixes !== undefined) {
    const { pk, sk } = request;
    const hit = rule.keyPrefixes.some(
      (prefix) => (pk !== undefined && pk.startsWith(prefix)) || (sk !== undefined && sk.startsWith(prefix)),
    );
    if (!hit) return false;
  }
  return rule.when === undefined || rule.when(request);
}

function pickFault(fault: FaultRule['fault'], random: () => number): DynamoDbFault | undefined {
  if (!Array.isArray(fault)) return fault as DynamoDbFault;
  const list = fault as readonly DynamoDbFault[];
  return list[Math.floor(random() * list.length)];
}

/** Requests kept for `seen`; older ones are dropped. */
const MAX_SEEN = 10_000;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Starts the proxy in front of `target` (DynamoDB Local's endpoint). */
export async function startDynamoDbFaultProxy(options: {
  readonly target: string;
  /** Seed of the generator behind `probability`: a run with the same seed faults the same requests. */
  readonly seed?: number;
}): Promise<DynamoDbFaultProxy> {
  const target = new URL(options.target);
  const random = seededRandom(options.seed ?? 1);
  const rules: { rule: FaultRule; left: number }[] = [];
  const requests: Record<string, number> = {};
  const faults: Record<string, number> = {};
  const seen: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();

  const pass = (req: IncomingMessage, body: Buffer, res: ServerResponse, lose: boolean): void => {
    const upstream = forward(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
      },
      (answer) => {
        if (lose) {
          // Applied by DynamoDB; the caller never hears of it.
          answer.resume();
          answer.on('end', () => req.socket.destroy());
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => req.socket.destroy());
    upstream.end(body);
  };

  const server: Server = createServer((req, res) => {
    void readBody(req).then((body) => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.slice(target.indexOf('.') + 1);
      requests[operation] = (requests[operation] ?? 0) + 1;
      let parsed: Record<string, unknown> = {};
      try {
        parsed = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      } catch {
        // Not JSON: nothing for a rule to look at; pass it on.
      }
      const request = describe(operation, parsed);
      if (seen.length >= MAX_SEEN) seen.shift();
      seen.push(request);
      const entry = rules.find(({ rule, left }) => left > 0 && matches(rule, request));
      const fire = entry !== undefined && random() < (entry.rule.probability ?? 1);
      if (entry === undefined || !fire) {
        pass(req, body, res, false);
        return;
      }
      entry.left -= 1;
      const fault = pickFault(entry.rule.fault, random);
      if (fault === undefined) {
        pass(req, body, res, false);
        return;
      }
      faults[`${operation}:${fault.kind}`] = (faults[`${operation}:${fault.kind}`] ?? 0) + 1;
      switch (fault.kind) {
        case 'error':
          res.writeHead(500, { 'content-type': 'application/x-amz-json-1.0' });
          res.end(
            JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: 'injected' }),
          );
          return;
        case 'throttle': {
          const type = fault.type ?? 'ThrottlingException';
          res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
          res.end(JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message: 'injected' }));
          return;
        }
        case 'hang':
          // Answer nothing; the socket is closed when the client gives up or the proxy stops.
          return;
        case 'reset':
          req.socket.destroy();
          return;
        case 'lost':
          pass(req, body, res, true);
          return;
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the fault proxy did not bind a port');

  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    addRule(rule) {
      rules.push({ rule, left: rule.times ?? Number.POSITIVE_INFINITY });
    },
    clear() {
      rules.length = 0;
    },
    get counts() {
      return { requests: { ...requests }, faults: { ...faults } };
    },
    get seen() {
      return [...seen];
    },
    resetCounts() {
      seen.length = 0;
      for (const key of Object.keys(requests)) delete requests[key];
      for (const key of Object.keys(faults)) delete faults[key];
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
