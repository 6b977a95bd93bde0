/** Which inbound requests a fault applies to. */
export type FaultTarget =
  /** `/oauth/token/` on either authorization server. */
  | 'token'
  /** `/rest/…` on a portal (including portal `app.info` and `batch`). */
  | 'rest'
  /** `/rest/app.info` on an authorization server (the "trusted" token check). */
  | 'appInfo'
  /** `/oauth/authorize/` on a portal. */
  | 'authorize';

/** A target, or `'*'` for all of them (a specific target's settings win field by field). */
export type FaultScope = FaultTarget | '*';

/** Every target, for iteration and validation. */
export const FAULT_TARGETS: readonly FaultTarget[] = ['token', 'rest', 'appInfo', 'authorize'];

/** What a scope misbehaves with. Unset fields mean "behave". */
export interface FaultSettings {
  /** Real (not emulator-clock) delay before the answer. Observable only as "it still succeeds". */
  readonly latencyMs?: number;
  /** How many of the next requests fail with `failStatus`/`failBody`. Counts down. */
  readonly failNext?: number;
  /** Status of injected failures. @default 500 */
  readonly failStatus?: number;
  /** Body of injected failures. @default a Bitrix24-like JSON error for 500, an nginx HTML page otherwise */
  readonly failBody?: string | Readonly<Record<string, unknown>>;
  /** Probability (0–1) that a request fails with `failStatus`, from a seeded PRNG. */
  readonly failRate?: number;
  /** Accept the request and never answer until the fault is cleared (then answer) or the emulator stops. */
  readonly hang?: boolean;
  /** Answer 200 with a body that is not JSON (`true`/`'not-json'`) or JSON without tokens (`'no-tokens'`). */
  readonly malformed200?: boolean | 'not-json' | 'no-tokens';
  /** Send error bodies (`{"error":…}`) with HTTP 200, as Bitrix24 sometimes does. */
  readonly errorsAsHttp200?: boolean;
  /**
   * Process the request first (rotate the refresh token, consume the code…), then replace the answer
   * with the injected failure: "the provider answered but the client lost the response".
   */
  readonly applyAfter?: boolean;
}

/** The failure chosen for one request. */
export type InjectedFailure =
  | { readonly kind: 'status'; readonly status: number; readonly body: string; readonly contentType: string }
  | { readonly kind: 'malformed'; readonly variant: 'not-json' | 'no-tokens' }
  | { readonly kind: 'hang' };

/** What to do with one request, decided once when it arrives. */
export interface FaultPlan {
  readonly latencyMs: number;
  readonly failure: InjectedFailure | undefined;
  readonly applyAfter: boolean;
  readonly errorsAsHttp200: boolean;
}

const JSON_TYPE = 'application/json; charset=utf-8';

function looksLikeJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** mulberry32: tiny, seedable, good enough for "fail about 30 %" without flaky tests. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function defaultFailure(status: number): { body: string; contentType: string } {
  if (status === 500) {
    return {
      body: JSON.stringify({ error: 'INTERNAL_SERVER_ERROR', error_description: 'Internal server error' }),
      contentType: JSON_TYPE,
    };
  }
  // Gateways in front of Bitrix24 answer 502/503/504 with an nginx page, not JSON.
  return {
    body: `<html>\r\n<head><title>${status} Error</title></head>\r\n<body>\r\n<center><h1>${status} Error</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`,
    contentType: 'text/html',
  };
}

interface HungRequest {
  readonly target: FaultTarget;
  readonly release: () => void;
  readonly abort: () => void;
}

/**
 * Fault injection per target. Settings merge; `clear` removes them (and lets hung requests answer).
 *
 * @example
 * emulator.faults.set('token', { latencyMs: 50 });
 * emulator.faults.failNext('token', 1, { status: 503, applyAfter: true }); // rotates, then "loses" the answer
 * emulator.faults.clear();
 */
export class FaultController {
  private readonly settings = new Map<FaultScope, Mutable<FaultSettings>>();
  private readonly hung = new Set<HungRequest>();
  private random: () => number;

  constructor(seed = 1) {
    this.random = seededRandom(seed);
  }

  /** Merges settings into a scope. */
  set(scope: FaultScope, settings: FaultSettings): this {
    const merged: Mutable<FaultSettings> = { ...this.settings.get(scope) };
    for (const [key, value] of Object.entries(settings)) {
      if (value !== undefined) Object.assign(merged, { [key]: value });
    }
    this.settings.set(scope, merged);
    this.releaseUnhung();
    return this;
  }

  /** The next `count` requests of the scope fail (before processing unless `applyAfter`). */
  failNext(
    scope: FaultScope,
    count: number,
    options: { status?: number; body?: string | Readonly<Record<string, unknown>>; applyAfter?: boolean } = {},
  ): this {
    return this.set(scope, {
      failNext: count,
      failStatus: options.status ?? 500,
      ...(options.body !== undefined ? { failBody: options.body } : {}),
      ...(options.applyAfter !== undefined ? { applyAfter: options.applyAfter } : {}),
    });
  }

  /** A fraction of requests fail, drawn from the seeded PRNG. */
  failRate(scope: FaultScope, probability: number, options: { status?: number } = {}): this {
    return this.set(scope, { failRate: probability, failStatus: options.status ?? 500 });
  }

  /** Starts (or with `false` ends) hanging every request of the scope. */
  hang(scope: FaultScope, on = true): this {
    return this.set(scope, { hang: on });
  }

  /** Removes the settings of one scope, or of every scope. Hung requests of healed targets then answer. */
  clear(scope?: FaultScope): this {
    if (scope === undefined) this.settings.clear();
    else this.settings.delete(scope);
    this.releaseUnhung();
    return this;
  }

  /** The settings stored for a scope (not merged with `'*'`). */
  get(scope: FaultScope): Readonly<FaultSettings> {
    return { ...this.settings.get(scope) };
  }

  /** Restarts the PRNG behind `failRate`. */
  seed(seed: number): this {
    this.random = seededRandom(seed);
    return this;
  }

  /** Decides the fate of one request and consumes a `failNext` count. Used by the server. */
  plan(target: FaultTarget): FaultPlan {
    const specific = this.settings.get(target);
    const any = this.settings.get('*');
    const field = <K extends keyof FaultSettings>(key: K): FaultSettings[K] => specific?.[key] ?? any?.[key];
    return {
      latencyMs: Math.max(0, field('latencyMs') ?? 0),
      failure: this.chooseFailure(specific, any, field),
      applyAfter: field('applyAfter') === true,
      errorsAsHttp200: field('errorsAsHttp200') === true,
    };
  }

  /** Resolves when the target stops hanging; rejects when the emulator stops. */
  waitWhileHung(target: FaultTarget): Promise<void> {
    if (!this.isHung(target)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const entry: HungRequest = {
        target,
        release: () => {
          this.hung.delete(entry);
          resolve();
        },
        abort: () => {
          this.hung.delete(entry);
          reject(new Error('emulator stopped'));
        },
      };
      this.hung.add(entry);
    });
  }

  /** Fails every hung request (the server is stopping). */
  abortHung(): void {
    for (const entry of [...this.hung]) entry.abort();
  }

  private isHung(target: FaultTarget): boolean {
    return (this.settings.get(target)?.hang ?? this.settings.get('*')?.hang) === true;
  }

  private releaseUnhung(): void {
    for (const entry of [...this.hung]) if (!this.isHung(entry.target)) entry.release();
  }

  private chooseFailure(
    specific: Mutable<FaultSettings> | undefined,
    any: Mutable<FaultSettings> | undefined,
    field: <K extends keyof FaultSettings>(key: K) => FaultSettings[K],
  ): InjectedFailure | undefined {
    if (field('hang') === true) return { kind: 'hang' };
    // A countdown belongs to the scope it was set on: consume the specific one first.
    for (const owner of [specific, any]) {
      if (owner?.failNext !== undefined && owner.failNext > 0) {
        owner.failNext -= 1;
        return this.statusFailure(owner.failStatus ?? 500, owner.failBody);
      }
    }
    const rate = field('failRate') ?? 0;
    if (rate > 0 && this.random() < rate) return this.statusFailure(field('failStatus') ?? 500, field('failBody'));
    const malformed = field('malformed200');
    if (malformed === true || malformed === 'not-json') return { kind: 'malformed', variant: 'not-json' };
    if (malformed === 'no-tokens') return { kind: 'malformed', variant: 'no-tokens' };
    return undefined;
  }

  private statusFailure(status: number, body: FaultSettings['failBody']): InjectedFailure {
    if (body === undefined) return { kind: 'status', status, ...defaultFailure(status) };
    if (typeof body === 'string')
      return {
        kind: 'status',
        status,
        body,
        contentType: looksLikeJson(body) ? JSON_TYPE : 'text/plain; charset=utf-8',
      };
    return { kind: 'status', status, body: JSON.stringify(body), contentType: JSON_TYPE };
  }
}
