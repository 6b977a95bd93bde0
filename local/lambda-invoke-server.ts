import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Context } from 'aws-lambda';
import { localContext } from './lambda-http-server.js';

/** A function as Lambda runs it for a direct invocation: any JSON in, any JSON out. */
export type InvokedHandler = (event: unknown, context: Context) => Promise<unknown>;

/** A local stand-in for Lambda's `Invoke` API, serving named handlers of this process. */
export interface LambdaInvokeServer {
  /** Give it to the SDK as `AWS_ENDPOINT_URL_LAMBDA` (or a client's `endpoint`). */
  readonly endpoint: string;
  /** Invocations per function name and type (`RequestResponse`, `Event`). */
  readonly counts: Readonly<Record<string, number>>;
  resetCounts(): void;
  /** Waits for the asynchronous (`Event`) invocations still running. */
  settle(): Promise<void>;
  stop(): Promise<void>;
}

export interface LambdaInvokeServerOptions {
  /** The handlers by function name; an ARN or a qualified name (`name:alias`) reaches the same handler. */
  readonly functions: Readonly<Record<string, InvokedHandler>>;
  /** Each invocation's `context.getRemainingTimeInMillis()` starts here (the function's timeout). @default 60_000 */
  readonly timeoutMs?: number;
  /** @default 0 (a free port) */
  readonly port?: number;
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

/**
 * Serves the REST protocol the AWS SDK speaks for `Invoke` (`POST /2015-03-31/functions/{name}/invocations`)
 * on 127.0.0.1, running the handler in this process: the body is the event, the answer the handler's
 * result as JSON. A handler that throws answers like Lambda: HTTP 200 with `X-Amz-Function-Error:
 * Unhandled` and `{ errorType, errorMessage }`. `X-Amz-Invocation-Type: Event` answers 202 at once and
 * runs the handler afterwards. An unknown function is `ResourceNotFoundException` (404).
 *
 * @example
 * const lambda = await startLambdaInvokeServer({ functions: { 'token-vendor': makeTokenVendor(wiring) } });
 * const client = new LambdaClient({ endpoint: lambda.endpoint });
 */
export async function startLambdaInvokeServer(options: LambdaInvokeServerOptions): Promise<LambdaInvokeServer> {
  const counts: Record<string, number> = {};
  const running = new Set<Promise<unknown>>();
  const sockets = new Set<Socket>();
  const timeoutMs = options.timeoutMs ?? 60_000;

  const reply = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(body);
  };

  const handle = async (req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> => {
    const path = INVOKE_PATH.exec(new URL(req.url ?? '/', 'http://local').pathname);
    if (req.method !== 'POST' || path === null) {
      reply(res, 404, JSON.stringify({ message: 'only Invoke is served here' }), {
        'x-amzn-errortype': 'UnknownOperationException',
      });
      return;
    }
    const name = functionName(decodeURIComponent(path[1] ?? ''));
    const handler = options.functions[name];
    if (handler === undefined) {
      reply(res, 404, JSON.stringify({ Type: 'User', Message: `Function not found: ${name}` }), {
        'x-amzn-errortype': 'ResourceNotFoundException',
      });
      return;
    }
    const type = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
    counts[`${name}:${type}`] = (counts[`${name}:${type}`] ?? 0) + 1;
    let event: unknown;
    try {
      event = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
    } catch {
      reply(res, 400, JSON.stringify({ Type: 'User', message: 'Could not parse request body into json' }), {
        'x-amzn-errortype': 'InvalidRequestContentException',
      });
      return;
    }
    const run = handler(event, localContext(name, timeoutMs));
    if (type === 'Event') {
      const tracked = run.catch(() => undefined).finally(() => running.delete(tracked));
      running.add(tracked);
      reply(res, 202, '');
      return;
    }
    try {
      const result = await run;
      reply(res, 200, JSON.stringify(result ?? null), { 'x-amz-executed-version': '$LATEST' });
    } catch (error) {
      reply(
        res,
        200,
        JSON.stringify({
          errorType: error instanceof Error ? error.name : 'Error',
          errorMessage: error instanceof Error ? error.message : String(error),
        }),
        { 'x-amz-executed-version': '$LATEST', 'x-amz-function-error': 'Unhandled' },
      );
    }
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void handle(req, Buffer.concat(chunks), res);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const settle = async () => {
    while (running.size > 0) await Promise.all([...running]);
  };
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    counts,
    resetCounts: () => {
      for (const key of Object.keys(counts)) delete counts[key];
    },
    settle,
    stop: async () => {
      await settle();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive connections of SDK clients would hold the server open.
        for (const socket of sockets) socket.destroy();
      });
    },
  };
}

/** `arn:aws:lambda:…:function:name[:qualifier]`, `name:qualifier` or `name` → `name`. */
function functionName(raw: string): string {
  const afterFunction = raw.includes(':function:') ? raw.slice(raw.indexOf(':function:') + ':function:'.length) : raw;
  return afterFunction.split(':', 1)[0] ?? afterFunction;
}

/**
 * Delivers requests to a handler of this process without HTTP, as Lambda would (a fresh context per
 * call): the consumer library's `VendorInvoke` for tests and runs that need no local endpoint. An
 * asynchronous delivery (`wait: false`) runs to its end too; only its answer is dropped.
 *
 * @example
 * const vendor = new TokenVendorClient(directInvoke(makeTokenVendor(wiring), 'token-vendor'));
 */
export function directInvoke(
  handler: InvokedHandler,
  functionName: string,
  timeoutMs = 60_000,
): (payload: unknown, wait: boolean) => Promise<unknown> {
  return async (payload, wait) => {
    const answer = await handler(JSON.parse(JSON.stringify(payload)), localContext(functionName, timeoutMs));
    return wait ? answer : undefined;
  };
}
