import { createServer, type IncomingMessage } from 'node:http';
import qs from 'qs';
import type { BitrixEmulator } from '#local/emulator/index.js';

/** One request a receiver got. */
export interface ReceivedRequest {
  readonly method: string;
  /** Path and query as sent. */
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  /** The body parsed with PHP bracket semantics (what the service does with `qs`). */
  readonly form: Record<string, unknown>;
}

/** A tiny HTTP server on 127.0.0.1:0 standing in for the service's event handler / install page. */
export interface Receiver {
  readonly url: string;
  readonly requests: ReceivedRequest[];
  stop(): Promise<void>;
}

/** Starts a receiver that answers every request with `status` and `body`. */
export async function startReceiver(answer: { status?: number; body?: string } = {}): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const parsed: unknown = qs.parse(body);
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body,
        form: typeof parsed === 'object' && parsed !== null ? { ...parsed } : {},
      });
      res.writeHead(answer.status ?? 200, { 'content-type': 'text/html' });
      res.end(answer.body ?? '<html>ok</html>');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A JSON answer of the emulator with its status. */
export interface JsonAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

async function readJson(response: Response): Promise<JsonAnswer> {
  const text = await response.text();
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new Error(`not a JSON object: ${text}`);
  return { status: response.status, body: { ...parsed } };
}

/** Calls `/oauth/token/` on an authorization server host, by POST form (default) or GET query. */
export async function tokenRequest(
  emulator: BitrixEmulator,
  params: Record<string, string>,
  options: { host?: string; method?: 'GET' | 'POST' } = {},
): Promise<JsonAnswer> {
  const base = emulator.urlFor(`https://${options.host ?? 'oauth.bitrix.info'}/oauth/token/`);
  const query = new URLSearchParams(params).toString();
  const response =
    options.method === 'GET'
      ? await fetch(`${base}?${query}`)
      : await fetch(base, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: query,
        });
  return readJson(response);
}

/** Calls a REST method on a portal (GET with `auth` in the query unless a body is given). */
export async function restRequest(
  emulator: BitrixEmulator,
  domain: string,
  method: string,
  params: Record<string, string>,
  options: { post?: boolean } = {},
): Promise<JsonAnswer> {
  const url = emulator.urlFor(`https://${domain}/rest/${method}`);
  const body = new URLSearchParams(params).toString();
  const response = options.post
    ? await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body })
    : await fetch(`${url}?${body}`);
  return readJson(response);
}

/** Reads a nested string from a parsed form/JSON value. */
export function at(value: unknown, ...path: string[]): unknown {
  let current: unknown = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = Reflect.get(current, key);
  }
  return current;
}
