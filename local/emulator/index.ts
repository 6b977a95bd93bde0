/**
 * Bitrix24 emulator: portals and the central OAuth authorization servers behind one HTTP server on
 * 127.0.0.1, for tests and local runs. The service keeps real host names and reaches the emulator
 * through `BITRIX_URL_REWRITES` (`emulator.urlRewrites`): `https://{host}/path` → `{baseUrl}/h/{host}/path`.
 *
 * @example
 * const emulator = await startBitrixEmulator({
 *   app: { clientId: 'local.abc.123', clientSecret: 's3cret', redirectUri: 'http://127.0.0.1:3000/oauth/callback',
 *          eventHandlerUrl: 'http://127.0.0.1:3000/bitrix/events' },
 *   clock: { frozen: true },
 * });
 * const portal = emulator.addPortal({ domain: 'alpha.bitrix24.com', region: 'west' });
 * const { status, tokens } = await emulator.install(portal); // ONAPPINSTALL delivered
 * emulator.clock.advance(3_600_000);                         // the access token is now expired
 */
export { EmulatorClock, type EmulatorClockOptions } from './clock.js';
export type { CountersSnapshot, EventDeliveryRecord, OutcomeCounts } from './counters.js';
export {
  type BitrixEmulator,
  type BitrixEmulatorOptions,
  DEFAULT_APP,
  type EmulatorLink,
  type FrameResult,
  type InstallOptions,
  type LifecycleResult,
  type OpenAppOptions,
  type PortalRef,
  type SendEventOptions,
  startBitrixEmulator,
  type TokenStateView,
  type UninstallOptions,
  type UpdateOptions,
} from './emulator.js';
export { DEFAULT_OAUTH_ERROR_STATUS, type OAuthErrorCode, REST_ERRORS, type RestError } from './errors.js';
export { type DeliveryResult, EVENT_USER_AGENT, type EventTokens, encodeForm } from './events.js';
export {
  FAULT_TARGETS,
  type FaultController,
  type FaultScope,
  type FaultSettings,
  type FaultTarget,
} from './faults.js';
export {
  type AppStatus,
  AUTH_SERVER_HOSTS,
  type EmulatorApp,
  type EmulatorAppOptions,
  type EmulatorUser,
  type PortalOptions,
  type PortalPlan,
  type RateLimit,
  type Region,
} from './model.js';
export type { EmulatorPortal } from './state.js';
export { type ChainOrigin, type ChainView, fingerprint, type GrantedTokens, tokenTimestamp } from './tokens.js';
