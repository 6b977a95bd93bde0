/**
 * Settings read from an environment record, where every value is text. A small declarative parser
 * instead of a schema library: it runs in every cold start of every function, and each setting is one
 * of a handful of shapes. Empty strings mean "not set" (CDK and shells produce them); a bad value is
 * reported with the variable's name and what is wrong with it.
 *
 * @example
 * const schema = { PORT: int(3000, 1), MODE: oneOf(['a', 'b'], 'a') };
 * const result = parseSettings(schema, process.env); // { ok: true, value: { PORT: 3000, MODE: 'a' } }
 */

/** One setting: from its raw text (undefined when unset) to its value, or what is wrong with the text. */
export interface Setting<T> {
  read(raw: string | undefined): { readonly value: T } | { readonly problem: string };
}

export type SettingsSchema = Readonly<Record<string, Setting<unknown>>>;
export type SettingsOf<S extends SettingsSchema> = {
  readonly [K in keyof S]: S[K] extends Setting<infer T> ? T : never;
};

function setting<T>(fallback: T | undefined, parse: (raw: string) => T | { problem: string }): Setting<T> {
  return {
    read(raw) {
      if (raw === undefined) {
        return fallback === undefined ? { problem: 'is required' } : { value: fallback };
      }
      const parsed = parse(raw);
      return typeof parsed === 'object' && parsed !== null && 'problem' in parsed ? parsed : { value: parsed as T };
    },
  };
}

function number(raw: string): number | undefined {
  const trimmed = raw.trim();
  if (trimmed === '') return undefined;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : undefined;
}

/** A whole number of at least `min`. */
export function int(fallback: number, min = 0): Setting<number> {
  return setting(fallback, (raw) => {
    const value = number(raw);
    if (value === undefined || !Number.isInteger(value)) return { problem: `must be a whole number, got "${raw}"` };
    return value >= min ? value : { problem: `must be at least ${min}, got ${value}` };
  });
}

/** A number above zero (fractions allowed). */
export function positive(fallback: number): Setting<number> {
  return setting(fallback, (raw) => {
    const value = number(raw);
    if (value === undefined) return { problem: `must be a number, got "${raw}"` };
    return value > 0 ? value : { problem: `must be above 0, got ${value}` };
  });
}

/** A number of zero or more (fractions allowed). */
export function nonNegative(fallback: number): Setting<number> {
  return setting(fallback, (raw) => {
    const value = number(raw);
    if (value === undefined) return { problem: `must be a number, got "${raw}"` };
    return value >= 0 ? value : { problem: `must not be negative, got ${value}` };
  });
}

/** Text; `fallback` when unset. */
export function text(fallback: string): Setting<string> {
  return setting(fallback, (raw) => raw);
}

/** Text, or undefined when unset. */
export function optionalText(): Setting<string | undefined> {
  return { read: (raw) => ({ value: raw }) };
}

/** One of `values`. */
export function oneOf<const T extends string>(values: readonly T[], fallback: T): Setting<T> {
  return setting(fallback, (raw) => {
    const found = values.find((value) => value === raw);
    return found ?? { problem: `must be one of ${values.join(', ')}, got "${raw}"` };
  });
}

function isHttpUrl(raw: string): boolean {
  try {
    const url = new URL(raw);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

/** An absolute http(s) URL. */
export function url(fallback: string): Setting<string> {
  return setting(fallback, (raw) => (isHttpUrl(raw) ? raw : { problem: `must be an http(s) URL, got "${raw}"` }));
}

/** An http(s) URL, absolute or protocol-relative (`//host/path`, as pages load scripts). */
export function pageUrl(fallback: string): Setting<string> {
  return setting(fallback, (raw) =>
    isHttpUrl(raw.startsWith('//') ? `https:${raw}` : raw)
      ? raw
      : { problem: `must be an http(s) or protocol-relative (//host/path) URL, got "${raw}"` },
  );
}

/** An absolute http(s) URL, or undefined when unset. */
export function optionalUrl(): Setting<string | undefined> {
  return {
    read: (raw) =>
      raw === undefined || isHttpUrl(raw) ? { value: raw } : { problem: `must be an http(s) URL, got "${raw}"` },
  };
}

/** A comma-separated list, trimmed and lower-cased, empty parts dropped. */
export function lowerCaseList(fallback: readonly string[]): Setting<readonly string[]> {
  return setting(fallback, (raw) =>
    raw
      .split(',')
      .map((part) => part.trim().toLowerCase())
      .filter((part) => part.length > 0),
  );
}

/**
 * A comma-separated list whose parts `item` checks and normalises (empty parts dropped); the first
 * part it refuses is the problem.
 */
export function listOf<T>(
  fallback: readonly T[],
  item: (part: string) => { readonly value: T } | { readonly problem: string },
): Setting<readonly T[]> {
  return setting<readonly T[]>(fallback, (raw) => {
    const values: T[] = [];
    for (const part of raw.split(',').map((p) => p.trim())) {
      if (part.length === 0) continue;
      const result = item(part);
      if ('problem' in result) return { problem: `has "${part}", which ${result.problem}` };
      values.push(result.value);
    }
    return values;
  });
}

/** A JSON object whose values are http(s) URLs (keys are free text). */
export function urlMap(fallback: Readonly<Record<string, string>>): Setting<Readonly<Record<string, string>>> {
  return setting(fallback, (raw) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      return { problem: 'must be valid JSON' };
    }
    const isMap =
      typeof parsed === 'object' &&
      parsed !== null &&
      !Array.isArray(parsed) &&
      Object.values(parsed).every((value) => typeof value === 'string' && isHttpUrl(value));
    return isMap ? (parsed as Record<string, string>) : { problem: 'must be a JSON object of origin → base URL' };
  });
}

/**
 * Reads every setting of `schema` from `env`; the problems, if any, name each variable.
 */
export function parseSettings<S extends SettingsSchema>(
  schema: S,
  env: Readonly<Record<string, string | undefined>>,
): { ok: true; value: SettingsOf<S> } | { ok: false; problems: string } {
  const value: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, item] of Object.entries(schema)) {
    const raw = env[name];
    const result = item.read(raw === '' ? undefined : raw);
    if ('problem' in result) problems.push(`${name} ${result.problem}`);
    else value[name] = result.value;
  }
  return problems.length > 0
    ? { ok: false, problems: problems.join('; ') }
    : { ok: true, value: value as SettingsOf<S> };
}
