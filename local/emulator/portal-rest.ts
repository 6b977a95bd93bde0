import { REST_ERRORS, type RestError, restErrorResponse } from './errors.js';
import {
  allParams,
  type EmulatorRequest,
  type EmulatorResponse,
  isRecord,
  jsonResponse,
  parseForm,
  restTime,
  stringParam,
} from './http.js';
import type { EmulatorApp, EmulatorUser, InstallationState, PortalPlan } from './model.js';
import type { EmulatorState, PortalState } from './state.js';
import type { Chain } from './tokens.js';

/** Everything a REST method may read about the caller. */
interface CallContext {
  readonly state: EmulatorState;
  readonly portal: PortalState;
  readonly app: EmulatorApp;
  readonly installation: InstallationState;
  readonly chain: Chain;
  readonly user: EmulatorUser;
}

type MethodResult =
  | { readonly ok: true; readonly result: unknown; readonly total?: number; readonly next?: number }
  | { readonly ok: false; readonly error: RestError };

interface RestMethod {
  /** Scope the app needs; none for the always-available methods. */
  readonly scope?: string;
  readonly call: (context: CallContext, params: Readonly<Record<string, unknown>>) => MethodResult;
}

/** Leads per portal; more than one page so `next` paging is exercised. */
const LEAD_COUNT = 60;
const PAGE_SIZE = 50;
const MAX_BATCH = 50;

function lead(id: number): Record<string, string> {
  const statuses = ['NEW', 'IN_PROCESS', 'PROCESSED', 'CONVERTED', 'JUNK'];
  const created = new Date(Date.UTC(2026, 0, 1) + id * 3_600_000).toISOString().replace(/\.\d{3}Z$/, '+00:00');
  return {
    ID: String(id),
    TITLE: `Lead #${id}`,
    NAME: `Name${id}`,
    LAST_NAME: `Surname${id}`,
    STATUS_ID: statuses[id % statuses.length] ?? 'NEW',
    OPPORTUNITY: `${(id * 100).toFixed(2)}`,
    CURRENCY_ID: 'USD',
    ASSIGNED_BY_ID: '1',
    DATE_CREATE: created,
  };
}

/** Licence strings per plan, in `app.info`'s vocabulary (sample: `ru_ent10000` / `ent10000` / `ent`). */
const LICENSES: Readonly<Record<PortalPlan, { readonly type: string; readonly family: string }>> = {
  free: { type: 'project', family: 'project' },
  basic: { type: 'basic', family: 'basic' },
  standard: { type: 'std', family: 'std' },
  professional: { type: 'pro', family: 'pro' },
  enterprise: { type: 'ent250', family: 'ent' },
};

const METHODS: Readonly<Record<string, RestMethod>> = {
  'app.info': {
    call: ({ portal, app, installation }) => {
      const license = LICENSES[portal.plan];
      return {
        ok: true,
        result: {
          ID: app.localId,
          CODE: app.clientId,
          VERSION: installation.version,
          STATUS: installation.status,
          // INSTALLED stays false until the app called installFinish (docs/PROTOCOL.md §5).
          INSTALLED: installation.installed && installation.finished,
          PAYMENT_EXPIRED: installation.paymentExpired ? 'Y' : 'N',
          DAYS: null,
          LANGUAGE_ID: portal.language,
          LICENSE: `${portal.language}_${license.type}`,
          LICENSE_TYPE: license.type,
          LICENSE_FAMILY: license.family,
        },
      };
    },
  },
  profile: {
    call: ({ user }) => ({
      ok: true,
      result: {
        ID: String(user.id),
        ADMIN: user.admin === true,
        NAME: user.name ?? `User${user.id}`,
        LAST_NAME: user.lastName ?? '',
        PERSONAL_GENDER: '',
        TIME_ZONE: '',
      },
    }),
  },
  scope: { call: ({ chain }) => ({ ok: true, result: [...chain.scope] }) },
  'user.admin': { call: ({ user }) => ({ ok: true, result: user.admin === true }) },
  'server.time': {
    call: ({ state }) => ({
      ok: true,
      result: new Date(state.clock.now()).toISOString().replace(/\.\d{3}Z$/, '+00:00'),
    }),
  },
  'crm.lead.list': {
    scope: 'crm',
    call: (_context, params) => {
      const start = Math.max(0, Number.parseInt(typeof params.start === 'string' ? params.start : '0', 10) || 0);
      const ids = Array.from({ length: Math.max(0, Math.min(PAGE_SIZE, LEAD_COUNT - start)) }, (_, i) => start + i + 1);
      const next = start + PAGE_SIZE < LEAD_COUNT ? start + PAGE_SIZE : undefined;
      return { ok: true, result: ids.map(lead), total: LEAD_COUNT, ...(next !== undefined ? { next } : {}) };
    },
  },
  'crm.lead.get': {
    scope: 'crm',
    call: (_context, params) => {
      const id = Number.parseInt(
        typeof params.id === 'string' ? params.id : typeof params.ID === 'string' ? params.ID : '',
        10,
      );
      if (!(id >= 1 && id <= LEAD_COUNT))
        return { ok: false, error: { status: 400, error: '', description: 'Not found' } };
      return { ok: true, result: lead(id) };
    },
  },
};

/** Takes one request from the portal's leaky bucket (docs/PROTOCOL.md §3.3); `false` when over the limit. */
export function takeFromBucket(portal: PortalState, now: number): boolean {
  const limits = portal.rateLimit;
  if (limits === false) return true;
  const elapsedSeconds = Math.max(0, now - portal.bucket.at) / 1000;
  const level = Math.max(0, portal.bucket.level - elapsedSeconds * limits.drainPerSecond);
  portal.bucket = { level, at: now };
  // Blocked requests do not fill the bucket further: only accepted ones are counted.
  if (level + 1 > limits.burst) return false;
  portal.bucket.level = level + 1;
  return true;
}

function runMethod(context: CallContext, method: string, params: Readonly<Record<string, unknown>>): MethodResult {
  const blockedUntil = context.portal.blockedMethods.get(method);
  if (blockedUntil !== undefined) {
    if (context.state.clock.now() < blockedUntil) return { ok: false, error: REST_ERRORS.operationTimeLimit };
    context.portal.blockedMethods.delete(method);
  }
  const definition = METHODS[method];
  if (definition === undefined) return { ok: false, error: REST_ERRORS.methodNotFound };
  if (definition.scope !== undefined && !context.chain.scope.includes(definition.scope)) {
    return { ok: false, error: REST_ERRORS.insufficientScope };
  }
  return definition.call(context, params);
}

/** PHP's json_encode of an array: `[]` when empty, a list for keys 0..n-1, an object otherwise. */
function phpArray(entries: ReadonlyArray<readonly [string, unknown]>): unknown {
  if (entries.length === 0) return [];
  if (entries.every(([key], index) => key === String(index))) return entries.map(([, value]) => value);
  return Object.fromEntries(entries);
}

function batch(context: CallContext, request: EmulatorRequest, startedAt: number): EmulatorResponse {
  const { state } = context;
  const params = allParams(request);
  const cmd = params.cmd;
  const commands: Array<[string, unknown]> = Array.isArray(cmd)
    ? cmd.map((value, index) => [String(index), value])
    : isRecord(cmd)
      ? Object.entries(cmd)
      : [];
  if (commands.length > MAX_BATCH) return restErrorResponse(REST_ERRORS.batchLengthExceeded);
  const halt = params.halt === '1' || params.halt === 'true' || params.halt === 1 || params.halt === true;
  const results: Array<[string, unknown]> = [];
  const errors: Array<[string, unknown]> = [];
  const totals: Array<[string, unknown]> = [];
  const nexts: Array<[string, unknown]> = [];
  const times: Array<[string, unknown]> = [];
  for (const [key, value] of commands) {
    const commandStart = state.clock.now();
    const text = typeof value === 'string' ? value : '';
    const questionMark = text.indexOf('?');
    const method = (questionMark >= 0 ? text.slice(0, questionMark) : text)
      .trim()
      .toLowerCase()
      .replace(/\.json$/, '');
    const subParams = parseForm(questionMark >= 0 ? text.slice(questionMark + 1) : '');
    const outcome: MethodResult =
      method === 'batch'
        ? { ok: false, error: REST_ERRORS.batchMethodNotAllowed }
        : runMethod(context, method, subParams);
    state.counters.rest(method || '(empty)', outcome.ok ? 'ok' : outcome.error.error || 'error');
    if (outcome.ok) {
      results.push([key, outcome.result]);
      if (outcome.total !== undefined) totals.push([key, outcome.total]);
      if (outcome.next !== undefined) nexts.push([key, outcome.next]);
      times.push([key, restTime(commandStart, state.clock.now())]);
    } else {
      errors.push([key, { error: outcome.error.error, error_description: outcome.error.description }]);
      if (halt) break;
    }
  }
  return jsonResponse(200, {
    result: {
      result: phpArray(results),
      result_error: phpArray(errors),
      result_total: phpArray(totals),
      result_next: phpArray(nexts),
      result_time: phpArray(times),
    },
    time: restTime(startedAt, state.clock.now()),
  });
}

/**
 * One REST call on a portal: leaky bucket, then the token, then the method. Token rules
 * (docs/PROTOCOL.md §3.2): no `auth` → `NO_AUTH_FOUND`; unknown token, a token of another portal, or a
 * token of an uninstalled app → `invalid_token` (Bitrix24 says "access revoked" without documenting
 * the code; `invalid_token` makes clients refresh, which then fails with `invalid_grant` — the
 * honest end of the chain); expired or superseded by a refresh → `expired_token`.
 */
export function restCall(
  state: EmulatorState,
  portal: PortalState,
  rawMethod: string,
  request: EmulatorRequest,
): EmulatorResponse {
  const startedAt = state.clock.now();
  const method = rawMethod.toLowerCase();
  const fail = (error: RestError) => {
    state.counters.rest(method, error.error || 'error');
    return restErrorResponse(error);
  };
  // A deleted portal answers every call so (HTTP 500, PROTOCOL.md §3.2), before looking at the token.
  if (portal.deleted) return fail(REST_ERRORS.portalDeleted);
  if (!takeFromBucket(portal, startedAt)) return fail(REST_ERRORS.queryLimitExceeded);
  const auth = stringParam(request, 'auth');
  if (!auth) return fail(REST_ERRORS.noAuthFound);
  const check = state.tokens.checkAccess(auth);
  if (check.state === 'unknown' || check.state === 'revoked') return fail(REST_ERRORS.invalidToken);
  if (check.state !== 'live') return fail(REST_ERRORS.expiredToken);
  const { chain } = check;
  if (chain.memberId !== portal.memberId) return fail(REST_ERRORS.invalidToken);
  const app = state.apps.get(chain.clientId);
  const installation = portal.installations.get(chain.clientId);
  const user = portal.users.get(chain.userId);
  if (app === undefined || installation?.installed !== true || user === undefined)
    return fail(REST_ERRORS.invalidToken);
  if (portal.plan === 'free') return fail(REST_ERRORS.accessDeniedPlan);
  const context: CallContext = { state, portal, app, installation, chain, user };
  if (method === 'batch') {
    const response = batch(context, request, startedAt);
    state.counters.rest('batch', response.status === 200 ? 'ok' : REST_ERRORS.batchLengthExceeded.error);
    return response;
  }
  const outcome = runMethod(context, method, allParams(request));
  if (!outcome.ok) return fail(outcome.error);
  state.counters.rest(method, 'ok');
  return jsonResponse(200, {
    result: outcome.result,
    ...(outcome.next !== undefined ? { next: outcome.next } : {}),
    ...(outcome.total !== undefined ? { total: outcome.total } : {}),
    time: restTime(startedAt, state.clock.now()),
  });
}

/** Method names the emulator implements (for the control page). */
export const REST_METHOD_NAMES: readonly string[] = [...Object.keys(METHODS), 'batch'];
