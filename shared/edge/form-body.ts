import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { ValidationError } from '#shared/core/domain/errors.js';
import { type FormLimits, PROTOTYPE_KEYS, parsePhpForm } from '#shared/core/domain/php-form.js';
import { httpError } from './to-http-error.js';

/**
 * Bitrix24 posts events and the install frame as `application/x-www-form-urlencoded` with PHP bracket
 * keys (`auth[access_token]=…`, docs/PROTOCOL.md §4.1), which `node:querystring` (and so
 * `@middy/http-urlencode-body-parser`) leaves flat. `parsePhpForm` nests them; this module wraps it with the
 * limits an unauthenticated endpoint needs and refuses keys that could reach an object prototype.
 */

export interface BodyLimits {
  /** Largest body in bytes after base64 decoding. @default 65536 */
  readonly maxBytes?: number;
  /** Deepest nesting (`a[b][c]` is depth 2). Deeper bodies are refused, not truncated. @default 5 */
  readonly depth?: number;
  /** Most key/value pairs (form) or keys in total (JSON). @default 200 */
  readonly parameterLimit?: number;
  /** Most elements of one `a[]=` list. @default 50 */
  readonly arrayLimit?: number;
}

const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';

/** The raw request body as API Gateway hands it over. */
export interface RawBody {
  readonly body?: string | undefined;
  readonly isBase64Encoded?: boolean | undefined;
  readonly contentType?: string | undefined;
}

/**
 * Parses a form or JSON body into plain nested objects, within limits. Returns undefined for an empty
 * body. Throws an `HttpError` 413 (too large) or 415 (other media type or charset) and `ValidationError`
 * (malformed, too deep, too many parameters, a prototype key). Never echoes the body.
 *
 * @example
 * parseRequestBody({ body: 'auth%5Bmember_id%5D=abc', contentType: 'application/x-www-form-urlencoded' })
 * // → { auth: { member_id: 'abc' } }
 */
export function parseRequestBody(raw: RawBody, limits: BodyLimits = {}): unknown {
  const maxBytes = limits.maxBytes ?? 65_536;
  const depth = limits.depth ?? 5;
  const parameterLimit = limits.parameterLimit ?? 200;
  const arrayLimit = limits.arrayLimit ?? 50;
  if (raw.body === undefined || raw.body.length === 0) return undefined;
  // Check the size before decoding anything: base64 grows by 4/3, so this bound is safe.
  if (raw.body.length > Math.ceil((maxBytes * 4) / 3) + 4) throw tooLarge(maxBytes);
  const bytes = raw.isBase64Encoded === true ? Buffer.from(raw.body, 'base64') : Buffer.from(raw.body, 'utf8');
  if (bytes.length > maxBytes) throw tooLarge(maxBytes);
  if (bytes.length === 0) return undefined;
  const text = bytes.toString('utf8');

  const mediaType = parseMediaType(raw.contentType);
  if (mediaType === FORM) return parseForm(text, { depth, parameterLimit, arrayLimit });
  if (mediaType === JSON_TYPE) return parseJson(text, { depth, parameterLimit });
  throw httpError(415, 'unsupported_media_type', `send ${FORM} or ${JSON_TYPE} (UTF-8)`);
}

/** `application/x-www-form-urlencoded; charset=UTF-8` → the media type, when the charset is UTF-8 or absent. */
function parseMediaType(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const [type = '', ...params] = header.split(';').map((part) => part.trim().toLowerCase());
  for (const param of params) {
    const [name, value = ''] = param.split('=').map((part) => part.trim());
    if (name === 'charset' && value.replace(/^"|"$/g, '') !== 'utf-8') return undefined;
  }
  return type;
}

function parseForm(text: string, limits: FormLimits): unknown {
  return parsePhpForm(text, limits);
}

function parseJson(text: string, limits: { depth: number; parameterLimit: number }): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ValidationError('the JSON body is not valid JSON');
  }
  checkTree(parsed, { depth: limits.depth + 1, keys: limits.parameterLimit });
  return parsed;
}

/** Walks the parsed tree: refuses prototype keys, too deep nesting and too many keys. */
function checkTree(root: unknown, limits: { depth: number; keys: number }): void {
  let keys = 0;
  const stack: { value: unknown; level: number }[] = [{ value: root, level: 0 }];
  while (stack.length > 0) {
    const entry = stack.pop();
    if (entry === undefined || typeof entry.value !== 'object' || entry.value === null) continue;
    if (entry.level > limits.depth) throw new ValidationError('the body is nested too deep');
    for (const [key, child] of Object.entries(entry.value)) {
      if (PROTOTYPE_KEYS.has(key)) throw new ValidationError('the body uses a reserved key name');
      keys += 1;
      if (keys > limits.keys) throw new ValidationError('the body has too many fields');
      stack.push({ value: child, level: entry.level + 1 });
    }
    // JSON.parse keeps `__proto__` as an own key, which Object.entries lists; nothing else hides one.
  }
}

function tooLarge(maxBytes: number): Error {
  return httpError(413, 'payload_too_large', `the body is larger than ${maxBytes} bytes`);
}

/** What `formBody` adds to the event. */
export interface ParsedBodyEvent {
  /** The parsed body, or undefined when the request had none. */
  readonly parsedBody?: unknown;
}

/** Reads the body `formBody` parsed (undefined when the request had none). */
export function parsedBody(event: APIGatewayProxyEventV2): unknown {
  return 'parsedBody' in event ? event.parsedBody : undefined;
}

/**
 * middy middleware: parses a form (PHP bracket keys) or JSON body into `event.parsedBody`,
 * decoding base64 bodies first. Add it after `httpHandler`'s header normalisation (`.use()` on the
 * wrapped handler) so `content-type` is lower-case.
 *
 * @example
 * export const handler = httpHandler(fn).use(formBody({ maxBytes: 65_536 }));
 */
export function formBody(
  limits: BodyLimits = {},
): MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  return {
    before: (request) => {
      const { event } = request;
      const parsed = parseRequestBody(
        { body: event.body, isBase64Encoded: event.isBase64Encoded, contentType: event.headers?.['content-type'] },
        limits,
      );
      Object.assign(event, { parsedBody: parsed });
    },
  };
}
