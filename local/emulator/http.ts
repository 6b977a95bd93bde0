import type { IncomingMessage, ServerResponse } from 'node:http';
import qs from 'qs';
import type { FaultTarget } from './faults.js';

/** An answer built by a handler before faults get their say. */
export interface EmulatorResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** A request matched to a handler: the fault target decides which faults apply. */
export interface RoutedRequest {
  /** `undefined` for requests faults never touch (control page, 404s). */
  readonly target: FaultTarget | undefined;
  readonly handle: () => EmulatorResponse | Promise<EmulatorResponse>;
}

/** A request as the virtual hosts see it: path below `/h/{host}`, parameters parsed. */
export interface EmulatorRequest {
  readonly method: string;
  /** Path inside the virtual host, e.g. `/rest/app.info.json`. */
  readonly path: string;
  /** Raw query string including `?`, or `''`. */
  readonly search: string;
  /** Query parameters, PHP bracket keys nested (`cmd[a]=…` → `{ cmd: { a: … } }`). */
  readonly query: Readonly<Record<string, unknown>>;
  /** Body parameters: form (bracket keys nested) or JSON object; `{}` otherwise. */
  readonly body: Readonly<Record<string, unknown>>;
  readonly contentType: string;
}

/** Largest body the emulator reads; Bitrix24 itself accepts far less in practice. */
export const MAX_BODY_BYTES = 1024 * 1024;

const JSON_TYPE = 'application/json; charset=utf-8';

/** Parsing options that keep `__proto__`-style keys out and nesting shallow. */
const QS_OPTIONS: qs.IParseOptions = { allowPrototypes: false, depth: 5, parameterLimit: 2000, arrayLimit: 100 };

/** Thrown when a body exceeds `MAX_BODY_BYTES`. */
export class BodyTooLargeError extends Error {
  constructor() {
    super('request body too large');
    this.name = 'BodyTooLargeError';
  }
}

/** Reads the whole body as UTF-8, refusing bodies over `limit` bytes. */
export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > limit) throw new BodyTooLargeError();
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses a query string (without `?`) with PHP bracket semantics. */
export function parseForm(text: string): Record<string, unknown> {
  const parsed: unknown = qs.parse(text, QS_OPTIONS);
  return isRecord(parsed) ? parsed : {};
}

/** Builds the emulator's view of a request. */
export function toEmulatorRequest(
  method: string,
  path: string,
  search: string,
  contentType: string,
  rawBody: string,
): EmulatorRequest {
  let body: Record<string, unknown> = {};
  if (rawBody.length > 0) {
    if (/^application\/json/i.test(contentType)) {
      try {
        const parsed: unknown = JSON.parse(rawBody);
        if (isRecord(parsed)) body = parsed;
      } catch {
        body = {};
      }
    } else if (contentType === '' || /^application\/x-www-form-urlencoded/i.test(contentType)) {
      body = parseForm(rawBody);
    }
  }
  return { method, path, search, query: parseForm(search.replace(/^\?/, '')), body, contentType };
}

/** A parameter from the body or, failing that, the query (body wins, as PHP's `$_REQUEST` order does). */
export function param(request: EmulatorRequest, name: string): unknown {
  return request.body[name] ?? request.query[name];
}

/** A parameter as a string; arrays/objects count as absent. */
export function stringParam(request: EmulatorRequest, name: string): string | undefined {
  const value = param(request, name);
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** All parameters merged (body over query). */
export function allParams(request: EmulatorRequest): Record<string, unknown> {
  return { ...request.query, ...request.body };
}

/** A JSON answer. */
export function jsonResponse(
  status: number,
  value: unknown,
  headers: Readonly<Record<string, string>> = {},
): EmulatorResponse {
  return { status, headers: { 'content-type': JSON_TYPE, ...headers }, body: JSON.stringify(value) };
}

/** An HTML answer. */
export function htmlResponse(status: number, html: string): EmulatorResponse {
  return { status, headers: { 'content-type': 'text/html; charset=utf-8' }, body: html };
}

/** A plain-text answer. */
export function textResponse(status: number, text: string): EmulatorResponse {
  return { status, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: text };
}

/** A redirect. */
export function redirectResponse(location: string, status = 302): EmulatorResponse {
  return { status, headers: { location, 'content-type': 'text/html; charset=utf-8' }, body: '' };
}

/** Whether an answer is a JSON error body (`{"error": …}`), whatever its status. */
export function isJsonError(response: EmulatorResponse): boolean {
  if (!/json/i.test(response.headers['content-type'] ?? '')) return false;
  try {
    const parsed: unknown = JSON.parse(response.body);
    return isRecord(parsed) && typeof parsed.error === 'string';
  } catch {
    return false;
  }
}

/** Writes an answer unless the client already left. */
export function send(res: ServerResponse, response: EmulatorResponse): void {
  if (res.destroyed || res.headersSent) return;
  res.writeHead(response.status, { ...response.headers, 'content-length': Buffer.byteLength(response.body) });
  res.end(response.body);
}

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Bitrix24's `time` block (every REST answer has one). Times from the emulator clock. */
export function restTime(startMs: number, finishMs: number): Record<string, number | string> {
  const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00');
  const duration = Math.max(0, finishMs - startMs) / 1000;
  return {
    start: startMs / 1000,
    finish: finishMs / 1000,
    duration,
    processing: duration,
    date_start: iso(startMs),
    date_finish: iso(finishMs),
    operating_reset_at: Math.floor(startMs / 1000) + 600,
    operating: 0,
  };
}

/** Reads a JSON body of the control API. */
export function objectBody(request: EmulatorRequest): Record<string, unknown> {
  return isRecord(request.body) ? request.body : {};
}

export { isRecord };
