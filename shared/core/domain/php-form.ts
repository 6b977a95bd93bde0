import { ValidationError } from './errors.js';

/**
 * Bitrix24's form encoding: `application/x-www-form-urlencoded` with PHP bracket keys. Events and the
 * install frame arrive as `auth[access_token]=…&data[VERSION]=1`; REST calls are sent as
 * `filter[>ID]=5&select[0]=ID&auth=…`. (`node:querystring` leaves bracket keys flat, which is why this
 * exists.) Parsing takes untrusted input, so it is strict: limits fail loudly instead of truncating,
 * names that could reach an object prototype are refused, and a key used both as a value and as a
 * container is refused rather than guessed at.
 */

/** A parsed form: nested plain objects, lists from `key[]`, strings at the leaves. */
export type FormValue = string | FormValue[] | { [key: string]: FormValue };

export interface FormLimits {
  /** Deepest nesting (`a[b][c]` is depth 2). Deeper keys are refused. */
  readonly depth: number;
  /** Most key/value pairs. */
  readonly parameterLimit: number;
  /** Most elements of one `a[]=` list. */
  readonly arrayLimit: number;
}

/** Key names that could reach an object prototype: refused in any body, form or JSON. */
export const PROTOTYPE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * `auth[access_token]` → `['auth', 'access_token']`; `a[]` → `['a', '']`. Text after the last bracket
 * pair (`a[b]c`) is not PHP's shape and is refused.
 */
export function formKeySegments(key: string): string[] {
  const open = key.indexOf('[');
  if (open < 0) return [key];
  if (open === 0) throw new ValidationError('a form key starts with a bracket');
  const segments = [key.slice(0, open)];
  const rest = key.slice(open);
  const pattern = /\[([^[\]]*)\]/gy;
  let consumed = 0;
  for (let match = pattern.exec(rest); match !== null; match = pattern.exec(rest)) {
    segments.push(match[1] ?? '');
    consumed = pattern.lastIndex;
  }
  if (consumed !== rest.length) throw new ValidationError('a form key has unbalanced brackets');
  return segments;
}

/** `+` is a space; a malformed escape is kept as it is (a browser would send it that way). */
function decodeComponent(value: string): string {
  const spaced = value.replaceAll('+', ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

function isMap(value: FormValue | undefined): value is { [key: string]: FormValue } {
  return typeof value === 'object' && !Array.isArray(value);
}

/**
 * Parses a form body into nested plain objects. Throws `ValidationError` for too many parameters, too
 * deep nesting, a too long list, unbalanced brackets, a prototype key, or a key that is both a value
 * and a container.
 *
 * @example
 * parsePhpForm('auth%5Bmember_id%5D=abc&data%5BVERSION%5D=1', { depth: 5, parameterLimit: 200, arrayLimit: 50 })
 * // → { auth: { member_id: 'abc' }, data: { VERSION: '1' } }
 */
export function parsePhpForm(text: string, limits: FormLimits): { [key: string]: FormValue } {
  const root: { [key: string]: FormValue } = {};
  const pairs = text.split('&').filter((pair) => pair.length > 0);
  if (pairs.length > limits.parameterLimit) throw new ValidationError('the form body has too many parameters');
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    const key = decodeComponent(equals < 0 ? pair : pair.slice(0, equals));
    const value = decodeComponent(equals < 0 ? '' : pair.slice(equals + 1));
    const segments = formKeySegments(key);
    if (segments.some((segment) => PROTOTYPE_KEYS.has(segment))) {
      throw new ValidationError('the body uses a reserved key name');
    }
    if (segments.length - 1 > limits.depth) throw new ValidationError('the form body is nested too deep');
    assign(root, segments, value, limits);
  }
  return root;
}

function assign(root: { [key: string]: FormValue }, segments: readonly string[], value: string, limits: FormLimits) {
  let container: FormValue = root;
  for (let i = 0; i < segments.length; i += 1) {
    const segment = segments[i] ?? '';
    const last = i === segments.length - 1;
    const nextIsList = !last && segments[i + 1] === '';
    if (Array.isArray(container)) {
      if (segment !== '') throw new ValidationError('a form list is also used as a map');
      if (container.length >= limits.arrayLimit) throw new ValidationError('a form list is too long');
      if (last) {
        container.push(value);
        return;
      }
      const child: FormValue = nextIsList ? [] : {};
      container.push(child);
      container = child;
      continue;
    }
    if (!isMap(container)) throw new ValidationError('a form value is also used as a container');
    if (segment === '')
      throw new ValidationError(i === 0 ? 'a form key is empty' : 'a form map is also used as a list');
    const existing: FormValue | undefined = Object.hasOwn(container, segment) ? container[segment] : undefined;
    if (last) {
      // A repeated plain key keeps every value, in order (what PHP calls `a[]`).
      if (existing === undefined) container[segment] = value;
      else if (Array.isArray(existing) && existing.every((item) => typeof item === 'string')) existing.push(value);
      else if (typeof existing === 'string') container[segment] = [existing, value];
      else throw new ValidationError('a form key is both a value and a container');
      continue;
    }
    if (existing === undefined) {
      const child: FormValue = nextIsList ? [] : {};
      container[segment] = child;
      container = child;
    } else if (typeof existing === 'string') {
      throw new ValidationError('a form key is both a value and a container');
    } else {
      container = existing;
    }
  }
}

/**
 * Encodes nested values with PHP bracket keys and list indices (`select[0]=ID`), as Bitrix24's REST
 * API reads them. `undefined` and `null` leave the key out, dates go as ISO 8601, empty lists and maps
 * send nothing, anything else goes as its text.
 *
 * @example
 * stringifyPhpForm({ filter: { '>ID': 5 }, select: ['ID', 'TITLE'] })
 * // → 'filter%5B%3EID%5D=5&select%5B0%5D=ID&select%5B1%5D=TITLE'
 */
export function stringifyPhpForm(values: Readonly<Record<string, unknown>>): string {
  const parts: string[] = [];
  const walk = (key: string, value: unknown): void => {
    if (value === undefined || value === null) return;
    if (value instanceof Date) {
      parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(value.toISOString())}`);
    } else if (Array.isArray(value)) {
      value.forEach((item: unknown, index) => {
        walk(`${key}[${index}]`, item);
      });
    } else if (typeof value === 'object') {
      for (const [name, item] of Object.entries(value)) walk(`${key}[${name}]`, item);
    } else {
      parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(value))}`);
    }
  };
  for (const [name, value] of Object.entries(values)) walk(name, value);
  return parts.join('&');
}
