import { METRIC_NAMES, type MetricsRecorder } from '#shared/core/ports/metrics.js';
import type { BitrixOAuthClient } from '#shared/core/ports/oauth-client.js';

/** Who made a call to the authorization server: the refresh workers, or the token vendor for a consumer. */
export type CallKind = 'sweep' | 'on_demand';

/**
 * The authorization-server client, counting each refresh call (answered or not) as `AuthServerCalls`
 * with its `kind`: the calls per second of the whole app, against the ceiling `REFRESH_CALLS_PER_SECOND`
 * (alarmed), and how much of it waiting consumers take.
 *
 * @example
 * const oauth = countCalls(new HttpBitrixOAuthClient(options), metrics, 'sweep');
 */
export function countCalls(inner: BitrixOAuthClient, metrics: MetricsRecorder, kind: CallKind): BitrixOAuthClient {
  return {
    exchangeCode: (input) => inner.exchangeCode(input),
    refresh: (input) => {
      metrics.count(METRIC_NAMES.authServerCalls, 1, { kind });
      return inner.refresh(input);
    },
  };
}
