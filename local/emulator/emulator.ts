import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { BX24_LIBRARY_HOST, routeLibrary } from './bx24.js';
import { EmulatorClock, type EmulatorClockOptions } from './clock.js';
import { routeControl } from './control.js';
import { Counters, type CountersSnapshot } from './counters.js';
import { DEFAULT_OAUTH_ERROR_STATUS, type OAuthErrorCode } from './errors.js';
import { type DeliveryResult, type EventTokens, encodeForm, eventAuth, eventHandlerId, postBody } from './events.js';
import { FaultController, type FaultPlan, type FaultTarget, type InjectedFailure } from './faults.js';
import {
  BodyTooLargeError,
  type EmulatorResponse,
  isJsonError,
  jsonResponse,
  type RoutedRequest,
  readBody,
  restTime,
  send,
  textResponse,
  toEmulatorRequest,
} from './http.js';
import {
  type AppStatus,
  AUTH_SERVER_HOST_LIST,
  AUTH_SERVER_HOSTS,
  type EmulatorApp,
  type EmulatorAppOptions,
  type InstallationState,
  type PortalOptions,
  type RateLimit,
} from './model.js';
import { routeAuthServer } from './oauth-server.js';
import { routePortal } from './portal.js';
import { EmulatorPortal, EmulatorState, type PortalState, planRateLimit } from './state.js';
import {
  type ChainOrigin,
  type ChainView,
  fingerprint,
  type GrantedTokens,
  TokenStore,
  type TokenStoreLimits,
} from './tokens.js';

/** Options of `startBitrixEmulator`. Every field is optional. */
export interface BitrixEmulatorOptions {
  /** Port on 127.0.0.1. @default a free port */
  readonly port?: number;
  /** Registered apps; the first is the default for every action. @default [DEFAULT_APP] */
  readonly apps?: readonly EmulatorAppOptions[];
  /** Shorthand for a single registered app (ignored when `apps` is given). */
  readonly app?: EmulatorAppOptions;
  /** Portals to create at start. @default none */
  readonly portals?: readonly PortalOptions[];
  /** A clock to share, or options for a new one. @default real time plus an offset */
  readonly clock?: EmulatorClock | EmulatorClockOptions;
  /** @default 30000 (30 s) */
  readonly codeLifetimeMs?: number;
  /** @default 3600000 (1 h) */
  readonly accessLifetimeMs?: number;
  /** @default 2592000000 (30 days: what real tokens embed, docs/PROTOCOL.md §2.7) */
  readonly refreshLifetimeMs?: number;
  /** `scope` of refresh answers: `'app'` as real local apps answer, or the granted list. @default 'app' */
  readonly refreshScope?: 'app' | 'granted';
  /** HTTP status per token-endpoint error. @default DEFAULT_OAUTH_ERROR_STATUS */
  readonly errorHttpStatus?: Partial<Record<OAuthErrorCode, number>>;
  /** Timeout of event and frame POSTs. @default 10000 */
  readonly eventTimeoutMs?: number;
  /** Seed of the PRNG behind `faults.failRate`. @default 1 */
  readonly faultSeed?: number;
  /** Memory bounds of the token store. @default { maxChains: 20000, maxCodes: 10000 } */
  readonly limits?: TokenStoreLimits;
  /** Links the control page shows at the top (e.g. the service's status page). @default none */
  readonly links?: readonly EmulatorLink[];
}

/** A link on the control page. */
export interface EmulatorLink {
  readonly label: string;
  readonly url: string;
}

/** The app used when none is configured: a local app with deterministic credentials. */
export const DEFAULT_APP: EmulatorAppOptions = {
  clientId: 'local.0123456789abcd.12345678',
  clientSecret: 'EmulatorClientSecret0123456789abcdefghijklmnopqrs',
};

/** A reference to a portal: its handle, a current or old domain, or its member id. */
export type PortalRef = EmulatorPortal | string;

/** Options of `install`. */
export interface InstallOptions {
  /** @default the first registered app */
  readonly clientId?: string;
  /** The installing user. @default the first admin */
  readonly userId?: number;
  /** @default the app's version */
  readonly appVersion?: number;
  /** POST ONAPPINSTALL to the app's eventHandlerUrl. @default true */
  readonly sendEvent?: boolean;
  /** Whether `installFinish` ran (`app.info` INSTALLED, event `data[INSTALLED]`). @default true */
  readonly installFinished?: boolean;
  /** @default the app's status letter */
  readonly status?: AppStatus;
}

/** Options of `update`. */
export interface UpdateOptions {
  readonly clientId?: string;
  /** @default previous version + 1 */
  readonly version?: number;
  readonly userId?: number;
  /** Issue a new application_token (docs-ru says update passes "the updated application_token"). @default false */
  readonly rotateApplicationToken?: boolean;
  /** @default true */
  readonly sendEvent?: boolean;
}

/** Options of `uninstall`. */
export interface UninstallOptions {
  readonly clientId?: string;
  /** The admin's "delete app data" checkbox → `data[CLEAN]` 1/0. @default true (as in the samples) */
  readonly clean?: boolean;
  /** @default true */
  readonly sendEvent?: boolean;
}

/** Options of `openApp`. */
export interface OpenAppOptions {
  readonly clientId?: string;
  /** The user opening the app. @default the first admin */
  readonly userId?: number;
  /** @default 'DEFAULT' */
  readonly placement?: string;
  /** JSON string or object. @default '{}' */
  readonly placementOptions?: string | Readonly<Record<string, unknown>>;
  /** Send SERVER_ENDPOINT (absent in the 2024 capture). @default true */
  readonly includeServerEndpoint?: boolean;
  /** Send APPLICATION_TOKEN (absent in the 2024 capture). @default true */
  readonly includeApplicationToken?: boolean;
  /** Send APPLICATION_SCOPE (absent in the 2024 capture). @default true */
  readonly includeScope?: boolean;
}

/** Options of `sendEvent`. */
export interface SendEventOptions {
  readonly clientId?: string;
  /** Whose tokens the `auth` block carries. @default the first admin */
  readonly userId?: number;
  /** The `data` block. @default {} */
  readonly data?: Readonly<Record<string, unknown>>;
  /** `auth` keys to replace; `null` removes a key. */
  readonly auth?: Readonly<Record<string, string | null>>;
  /** Tokens in `auth`: none, access only (ordinary events), or with refresh. @default 'access' */
  readonly tokens?: EventTokens;
  /** Send this body verbatim instead of building one. */
  readonly raw?: string;
  /** @default 'application/x-www-form-urlencoded' */
  readonly contentType?: string;
  /** Deliver here instead of the app's eventHandlerUrl. */
  readonly url?: string;
}

/** What a lifecycle action (install, update, uninstall, sendEvent) did. */
export interface LifecycleResult extends DeliveryResult {
  /** Whether a POST was made (false without eventHandlerUrl or with `sendEvent: false`). */
  readonly delivered: boolean;
  /** The new chain (install/update/events with tokens). Secret. */
  readonly tokens: GrantedTokens | undefined;
  /** The installation's application_token after the action (uninstall: the one it had). Secret. */
  readonly applicationToken: string | undefined;
  /** The body that was sent (contains tokens). */
  readonly requestBody: string;
}

/** What `openApp` did. */
export interface FrameResult extends DeliveryResult {
  readonly tokens: GrantedTokens;
  /** The install URL with DOMAIN, PROTOCOL, LANG, APP_SID. */
  readonly url: string;
  readonly requestBody: string;
}

/** What the store knows about any token string. */
export interface TokenStateView {
  readonly kind: 'access' | 'refresh' | 'unknown';
  readonly state: string;
  readonly chainId: string | undefined;
}

const FORM_TYPE = 'application/x-www-form-urlencoded';

function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

/**
 * A running Bitrix24 emulator: portals and both authorization servers behind one HTTP server on
 * 127.0.0.1, selected by the path prefix `/h/{host}`. Built by `startBitrixEmulator`.
 */
export class BitrixEmulator {
  /** `http://127.0.0.1:{port}`. */
  readonly baseUrl: string;
  /** `BITRIX_URL_REWRITES` for the service: `{ '*': '{baseUrl}/h/{host}' }`. */
  readonly urlRewrites: Readonly<Record<string, string>>;
  /** `BX24_LIBRARY_URL` for the service: the emulator's BX24.js stand-in (see `bx24.ts`). */
  readonly bx24LibraryUrl: string;
  readonly clock: EmulatorClock;
  /** Fault injection per target (`token`, `rest`, `appInfo`, `authorize`, `*`). */
  readonly faults: FaultController;
  /** Links the control page shows at the top. */
  links: readonly EmulatorLink[] = [];
  private readonly stopController = new AbortController();
  private stopped = false;

  /** @internal Use `startBitrixEmulator`. */
  constructor(
    private readonly server: Server,
    readonly port: number,
    private readonly state: EmulatorState,
  ) {
    this.baseUrl = `http://127.0.0.1:${port}`;
    this.urlRewrites = Object.freeze({ '*': `${this.baseUrl}/h/{host}` });
    this.bx24LibraryUrl = `${this.baseUrl}/h/${BX24_LIBRARY_HOST}/api/v1/`;
    this.clock = state.clock;
    this.faults = state.faults;
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.onRequest(req, res).catch(() => {
        if (!res.headersSent)
          send(res, jsonResponse(500, { error: 'INTERNAL_SERVER_ERROR', error_description: 'Internal server error' }));
        else res.destroy();
      });
    });
  }

  /**
   * Rewrites a real Bitrix24 URL onto the emulator, as the service's `BITRIX_URL_REWRITES` does.
   *
   * @example
   * emulator.urlFor('https://alpha.bitrix24.com/oauth/authorize/?a=b')
   * // → 'http://127.0.0.1:PORT/h/alpha.bitrix24.com/oauth/authorize/?a=b'
   */
  urlFor(url: string): string {
    const parsed = new URL(url);
    return `${this.baseUrl}/h/${parsed.host}${parsed.pathname}${parsed.search}`;
  }

  /** A snapshot of everything counted since start or `resetCounters()`. */
  get counters(): CountersSnapshot {
    return this.state.counters.snapshot();
  }

  resetCounters(): void {
    this.state.counters.reset();
  }

  /** Successful refreshes of a portal, optionally only those served by one auth-server host. */
  refreshCount(portal: PortalRef, host?: string): number {
    const entry = this.state.counters.snapshot().refreshes[this.state.portal(portal).memberId];
    if (entry === undefined) return 0;
    return host === undefined ? entry.ok : (entry.byHost[host] ?? 0);
  }

  /** Creates a portal. */
  addPortal(options: PortalOptions): EmulatorPortal {
    const portal = this.state.portals.add(options);
    const installed = options.installed;
    if (installed !== undefined && installed !== false) {
      const clientIds = installed === true ? [this.state.app().clientId] : installed;
      for (const clientId of clientIds) this.markInstalled(portal, this.state.app(clientId), {});
    }
    return new EmulatorPortal(portal);
  }

  /** A portal by current domain, old domain or member id (throws when unknown). */
  portal(ref: PortalRef): EmulatorPortal {
    return new EmulatorPortal(this.state.portal(ref));
  }

  /** Every portal. */
  get portals(): EmulatorPortal[] {
    return this.state.portals.all().map((portal) => new EmulatorPortal(portal));
  }

  /** A registered app (with its secret: for tests and the local runner's configuration). */
  app(clientId?: string): EmulatorApp {
    return this.state.app(clientId);
  }

  /** Every registered app. */
  get apps(): EmulatorApp[] {
    return [...this.state.apps.values()];
  }

  /** Registers an app, or replaces the one with the same client id. */
  registerApp(options: EmulatorAppOptions): EmulatorApp {
    return this.state.registerApp(options);
  }

  /** Changes an app's URLs or other settings, e.g. once the test's receiver knows its port. */
  updateApp(patch: Partial<EmulatorAppOptions>, clientId?: string): EmulatorApp {
    const current = this.state.app(clientId);
    return this.state.registerApp({ ...current, ...patch, clientId: current.clientId });
  }

  /**
   * Installs the app: new application_token (32 hex), a new chain for the installing admin, and
   * (unless `sendEvent: false`) ONAPPINSTALL with both tokens to the event handler (docs/PROTOCOL.md §4.3).
   */
  async install(portalRef: PortalRef, options: InstallOptions = {}): Promise<LifecycleResult> {
    const portal = this.state.portal(portalRef);
    const app = this.state.app(options.clientId);
    const userId = options.userId ?? this.state.defaultUser(portal);
    this.state.requireUser(portal, userId);
    const installation = this.markInstalled(portal, app, options);
    const tokens = this.state.tokens.startChain({
      clientId: app.clientId,
      memberId: portal.memberId,
      userId,
      origin: 'install',
      scope: app.scope,
    });
    if (options.sendEvent === false) return notDelivered(tokens, installation.applicationToken);
    const body = encodeForm({
      event: 'ONAPPINSTALL',
      event_handler_id: eventHandlerId(portal, 'ONAPPINSTALL'),
      data: {
        VERSION: installation.version,
        ACTIVE: 'Y',
        INSTALLED: installation.finished ? 'Y' : 'N',
        LANGUAGE_ID: portal.language,
      },
      ts: this.clock.nowSeconds(),
      auth: eventAuth(portal, installation, tokens, 'full'),
    });
    return this.deliver(
      portal,
      app.eventHandlerUrl,
      'ONAPPINSTALL',
      body,
      FORM_TYPE,
      tokens,
      installation.applicationToken,
    );
  }

  /** Updates the app: a new chain and ONAPPUPDATE with both tokens (docs/PROTOCOL.md §4.5). */
  async update(portalRef: PortalRef, options: UpdateOptions = {}): Promise<LifecycleResult> {
    const portal = this.state.portal(portalRef);
    const app = this.state.app(options.clientId);
    const installation = this.installedOrThrow(portal, app);
    const userId = options.userId ?? this.state.defaultUser(portal);
    this.state.requireUser(portal, userId);
    const previous = installation.version;
    installation.version = options.version ?? previous + 1;
    if (options.rotateApplicationToken === true) installation.applicationToken = randomHex(16);
    const tokens = this.state.tokens.startChain({
      clientId: app.clientId,
      memberId: portal.memberId,
      userId,
      origin: 'update',
      scope: app.scope,
    });
    if (options.sendEvent === false) return notDelivered(tokens, installation.applicationToken);
    const body = encodeForm({
      event: 'ONAPPUPDATE',
      event_handler_id: eventHandlerId(portal, 'ONAPPUPDATE'),
      data: { VERSION: installation.version, PREVIOUS_VERSION: previous, LANGUAGE_ID: portal.language },
      ts: this.clock.nowSeconds(),
      auth: eventAuth(portal, installation, tokens, 'full'),
    });
    return this.deliver(
      portal,
      app.eventHandlerUrl,
      'ONAPPUPDATE',
      body,
      FORM_TYPE,
      tokens,
      installation.applicationToken,
    );
  }

  /**
   * Uninstalls the app: every chain and pending code of the app on the portal is revoked (refresh →
   * `invalid_client` while the app is not installed, REST → `invalid_token`), then ONAPPUNINSTALL
   * without tokens is posted with the application_token the installation had (docs/PROTOCOL.md §4.4).
   */
  async uninstall(portalRef: PortalRef, options: UninstallOptions = {}): Promise<LifecycleResult> {
    const portal = this.state.portal(portalRef);
    const app = this.state.app(options.clientId);
    const installation = this.installedOrThrow(portal, app);
    const applicationToken = installation.applicationToken;
    const auth = eventAuth(portal, installation, undefined, 'none');
    this.state.tokens.revokeInstallation(app.clientId, portal.memberId, 'uninstall');
    installation.installed = false;
    installation.finished = false;
    installation.applicationToken = undefined;
    if (options.sendEvent === false) return notDelivered(undefined, applicationToken);
    const body = encodeForm({
      event: 'ONAPPUNINSTALL',
      event_handler_id: eventHandlerId(portal, 'ONAPPUNINSTALL'),
      data: { CLEAN: options.clean === false ? 0 : 1, LANGUAGE_ID: portal.language },
      ts: this.clock.nowSeconds(),
      auth,
    });
    return this.deliver(portal, app.eventHandlerUrl, 'ONAPPUNINSTALL', body, FORM_TYPE, undefined, applicationToken);
  }

  /**
   * Opens the app as the portal's frame does: POST to the app's installUrl with DOMAIN, PROTOCOL, LANG
   * and APP_SID in the query and a fresh chain for the user in the form body (docs/PROTOCOL.md §5).
   */
  async openApp(portalRef: PortalRef, options: OpenAppOptions = {}): Promise<FrameResult> {
    const portal = this.state.portal(portalRef);
    const app = this.state.app(options.clientId);
    if (app.installUrl === undefined) throw new Error(`app ${app.clientId} has no installUrl`);
    const frame = this.frameRequest(portal, app, options);
    const requestBody = new URLSearchParams(frame.fields).toString();
    const result = await postBody(
      frame.url,
      requestBody,
      FORM_TYPE,
      this.state.settings.eventTimeoutMs,
      this.stopController.signal,
    );
    this.state.counters.frameOpen(portal.memberId, result.status);
    return { ...result, tokens: frame.tokens, url: frame.url, requestBody };
  }

  /** @internal The frame's URL and fields with a fresh chain (also used by the control page's browser frame). */
  frameRequest(
    portal: PortalState,
    app: EmulatorApp,
    options: OpenAppOptions,
  ): { url: string; fields: Record<string, string>; tokens: GrantedTokens } {
    const installation = this.installedOrThrow(portal, app);
    if (app.installUrl === undefined) throw new Error(`app ${app.clientId} has no installUrl`);
    const userId = options.userId ?? this.state.defaultUser(portal);
    this.state.requireUser(portal, userId);
    const tokens = this.state.tokens.startChain({
      clientId: app.clientId,
      memberId: portal.memberId,
      userId,
      origin: 'frame',
      scope: app.scope,
    });
    const url = new URL(app.installUrl);
    url.searchParams.set('DOMAIN', portal.domain);
    url.searchParams.set('PROTOCOL', '1');
    url.searchParams.set('LANG', portal.language);
    // A per-render session id for the JS library: not the application token (docs/PROTOCOL.md §5).
    url.searchParams.set('APP_SID', randomHex(16));
    const placementOptions = options.placementOptions ?? '{}';
    const fields: Record<string, string> = {
      AUTH_ID: tokens.accessToken,
      AUTH_EXPIRES: String(tokens.expiresIn),
      REFRESH_ID: tokens.refreshToken,
      ...(options.includeServerEndpoint === false
        ? {}
        : { SERVER_ENDPOINT: `https://${AUTH_SERVER_HOSTS[portal.region]}/rest/` }),
      ...(options.includeApplicationToken === false ? {} : { APPLICATION_TOKEN: installation.applicationToken ?? '' }),
      ...(options.includeScope === false ? {} : { APPLICATION_SCOPE: tokens.scope }),
      member_id: portal.memberId,
      status: installation.status,
      PLACEMENT: options.placement ?? 'DEFAULT',
      PLACEMENT_OPTIONS: typeof placementOptions === 'string' ? placementOptions : JSON.stringify(placementOptions),
    };
    return { url: url.toString(), fields, tokens };
  }

  /**
   * Sends any event (also forged or raw) to the app's event handler. Default `auth`: access token
   * only, as ordinary app events carry (docs/PROTOCOL.md §4.2).
   */
  async sendEvent(portalRef: PortalRef, eventName: string, options: SendEventOptions = {}): Promise<LifecycleResult> {
    const portal = this.state.portal(portalRef);
    const app = this.state.app(options.clientId);
    const installation = portal.installations.get(app.clientId);
    const mode = options.tokens ?? 'access';
    const userId = options.userId ?? this.state.defaultUser(portal);
    const tokens =
      mode === 'none'
        ? undefined
        : this.state.tokens.startChain({
            clientId: app.clientId,
            memberId: portal.memberId,
            userId,
            origin: 'event',
            scope: app.scope,
          });
    let body: string;
    if (options.raw !== undefined) {
      body = options.raw;
    } else {
      const auth: Record<string, string> = eventAuth(portal, installation, tokens, mode);
      for (const [key, value] of Object.entries(options.auth ?? {})) {
        if (value === null) delete auth[key];
        else auth[key] = value;
      }
      body = encodeForm({
        event: eventName,
        event_handler_id: eventHandlerId(portal, eventName),
        data: options.data ?? {},
        ts: this.clock.nowSeconds(),
        auth,
      });
    }
    return this.deliver(
      portal,
      options.url ?? app.eventHandlerUrl,
      eventName,
      body,
      options.contentType ?? FORM_TYPE,
      tokens,
      installation?.applicationToken,
    );
  }

  /**
   * Deletes the portal (its owner closed it): refreshes of its chains answer `PORTAL_DELETED` at the
   * token endpoint and every REST call HTTP 500 `PORTAL_DELETED`.
   */
  deletePortal(portalRef: PortalRef): void {
    this.state.portal(portalRef).deleted = true;
  }

  /** Renames the portal: the old host answers 302 to the new one; tokens and events carry the new name. */
  rename(portalRef: PortalRef, newDomain: string): EmulatorPortal {
    const portal = this.state.portal(portalRef);
    this.state.portals.rename(portal, newDomain);
    return new EmulatorPortal(portal);
  }

  /** While `'expired'`, code exchange and refresh answer `PAYMENT_REQUIRED`; `app.info` says PAYMENT_EXPIRED Y. */
  setPayment(portalRef: PortalRef, payment: 'expired' | 'ok', clientId?: string): void {
    const portal = this.state.portal(portalRef);
    this.state.installation(portal, this.state.app(clientId)).paymentExpired = payment === 'expired';
  }

  /** Changes the app status letter reported for this portal (token answers, events, app.info). */
  setAppStatus(portalRef: PortalRef, status: AppStatus, clientId?: string): void {
    const portal = this.state.portal(portalRef);
    this.state.installation(portal, this.state.app(clientId)).status = status;
  }

  /** Marks `installFinish` done (`app.info` → INSTALLED true). */
  finishInstall(portalRef: PortalRef, clientId?: string): void {
    const portal = this.state.portal(portalRef);
    this.installedOrThrow(portal, this.state.app(clientId)).finished = true;
  }

  /** Makes a REST method answer 429 OPERATION_TIME_LIMIT for a while of emulator time. @default forMs 600000 */
  blockMethod(portalRef: PortalRef, method: string, forMs = 600_000): void {
    const portal = this.state.portal(portalRef);
    portal.blockedMethods.set(method.toLowerCase(), this.clock.now() + forMs);
  }

  /** Sets the portal's leaky bucket (or `false` to disable it) and empties it. */
  setRateLimit(portalRef: PortalRef, limit: RateLimit | false): void {
    const portal = this.state.portal(portalRef);
    portal.rateLimit = limit === false ? false : planRateLimit(portal.plan, limit);
    portal.bucket = { level: 0, at: this.clock.now() };
  }

  /** Mints a chain directly, as if the user had opened the app. The app must be installed. */
  issueTokens(
    portalRef: PortalRef,
    userId?: number,
    options: { clientId?: string; origin?: ChainOrigin } = {},
  ): GrantedTokens {
    const portal = this.state.portal(portalRef);
    const app = this.state.app(options.clientId);
    this.installedOrThrow(portal, app);
    const user = userId ?? this.state.defaultUser(portal);
    this.state.requireUser(portal, user);
    return this.state.tokens.startChain({
      clientId: app.clientId,
      memberId: portal.memberId,
      userId: user,
      origin: options.origin ?? 'manual',
      scope: app.scope,
    });
  }

  /** Issues an authorization code directly, as `/oauth/authorize/` would. The app must be installed. */
  issueCode(portalRef: PortalRef, userId?: number, clientId?: string): string {
    const portal = this.state.portal(portalRef);
    const app = this.state.app(clientId);
    this.installedOrThrow(portal, app);
    const user = userId ?? this.state.defaultUser(portal);
    this.state.requireUser(portal, user);
    return this.state.tokens.issueCode({ clientId: app.clientId, memberId: portal.memberId, userId: user });
  }

  /** Revokes every chain of the app on the portal without uninstalling (an admin "reset access"). */
  revokeApp(portalRef: PortalRef, clientId?: string): number {
    const portal = this.state.portal(portalRef);
    return this.state.tokens.revokeInstallation(this.state.app(clientId).clientId, portal.memberId, 'manual');
  }

  /** Revokes one chain. */
  revokeChain(chainId: string): boolean {
    return this.state.tokens.revokeChain(chainId);
  }

  /**
   * The portal's chains (optionally of one user / app) with fingerprints of their one live pair.
   *
   * @example
   * const [chain] = emulator.chainState(portal, 1);
   * expect(chain?.refreshFingerprint).toBe(emulator.fingerprint(storedRefreshToken));
   */
  chainState(portalRef: PortalRef, userId?: number, clientId?: string): ChainView[] {
    const portal = this.state.portal(portalRef);
    return this.state.tokens.listChains({
      memberId: portal.memberId,
      ...(userId !== undefined ? { userId } : {}),
      ...(clientId !== undefined ? { clientId } : {}),
    });
  }

  /** What the store thinks of a token string (`live`, `used`, `superseded`, `expired`, `revoked`, `unknown`). */
  tokenState(token: string): TokenStateView {
    const access = this.state.tokens.checkAccess(token);
    if (access.state !== 'unknown') return { kind: 'access', state: access.state, chainId: access.chain.id };
    const refresh = this.state.tokens.checkRefresh(token);
    if (refresh.state !== 'unknown') return { kind: 'refresh', state: refresh.state, chainId: refresh.chain.id };
    return { kind: 'unknown', state: 'unknown', chainId: undefined };
  }

  /** The fingerprint `chainState` uses. */
  fingerprint(token: string): string {
    return fingerprint(token);
  }

  /** Stops the server: hung and delayed requests are dropped, connections closed. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopController.abort();
    this.state.faults.abortHung();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  /** @internal The state, for the control API. */
  get internalState(): EmulatorState {
    return this.state;
  }

  private markInstalled(portal: PortalState, app: EmulatorApp, options: InstallOptions): InstallationState {
    const installation = this.state.installation(portal, app);
    installation.installed = true;
    installation.finished = options.installFinished ?? true;
    installation.version = options.appVersion ?? app.version;
    installation.status = options.status ?? app.status;
    // Every (re)install gets a new application_token (32 hex, as in the samples).
    installation.applicationToken = randomHex(16);
    return installation;
  }

  private installedOrThrow(portal: PortalState, app: EmulatorApp): InstallationState {
    const installation = portal.installations.get(app.clientId);
    if (installation?.installed !== true) throw new Error(`app ${app.clientId} is not installed on ${portal.domain}`);
    return installation;
  }

  private async deliver(
    portal: PortalState,
    url: string | undefined,
    event: string,
    body: string,
    contentType: string,
    tokens: GrantedTokens | undefined,
    applicationToken: string | undefined,
  ): Promise<LifecycleResult> {
    if (url === undefined) return { ...notDelivered(tokens, applicationToken), requestBody: body };
    const result = await postBody(
      url,
      body,
      contentType,
      this.state.settings.eventTimeoutMs,
      this.stopController.signal,
    );
    this.state.counters.event({
      event,
      memberId: portal.memberId,
      domain: portal.domain,
      status: result.status,
      at: this.clock.now(),
    });
    return { ...result, delivered: true, tokens, applicationToken, requestBody: body };
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const method = (req.method ?? 'GET').toUpperCase();
    let rawBody: string;
    try {
      rawBody = await readBody(req);
    } catch (error) {
      if (error instanceof BodyTooLargeError) {
        send(res, textResponse(413, 'Request body too large'));
        return;
      }
      throw error;
    }
    const contentType = req.headers['content-type'] ?? '';
    const virtual = /^\/h\/([^/]+)(\/.*)?$/.exec(url.pathname);
    if (virtual === null) {
      const request = toEmulatorRequest(method, url.pathname, url.search, contentType, rawBody);
      const routed = routeControl(this, request);
      send(res, routed === undefined ? textResponse(404, 'Not found') : await routed.handle());
      return;
    }
    const host = decodeURIComponent(virtual[1] ?? '').toLowerCase();
    const request = toEmulatorRequest(method, virtual[2] ?? '/', url.search, contentType, rawBody);
    const isAuthServer = AUTH_SERVER_HOST_LIST.includes(host);
    const routed =
      host === BX24_LIBRARY_HOST
        ? routeLibrary(this.baseUrl, request)
        : isAuthServer
          ? routeAuthServer(this.state, host, request)
          : routePortal(this.state, host, request);
    if (routed === undefined) {
      const known = isAuthServer || host === BX24_LIBRARY_HOST || this.state.portals.findByHost(host) !== undefined;
      send(res, textResponse(404, known ? 'Not found' : `Unknown virtual host ${host}`));
      return;
    }
    await this.respond(routed, res);
  }

  /** Runs a routed request through its fault plan. */
  private async respond(routed: RoutedRequest, res: ServerResponse): Promise<void> {
    const target = routed.target;
    if (target === undefined) {
      send(res, await routed.handle());
      return;
    }
    const plan: FaultPlan = this.state.faults.plan(target);
    try {
      if (plan.latencyMs > 0) await sleep(plan.latencyMs, undefined, { signal: this.stopController.signal });
      if (plan.failure !== undefined && !plan.applyAfter) {
        this.countFault(target, plan.failure);
        if (plan.failure.kind === 'hang') {
          // Accepted, unanswered; once the hang is cleared the request is processed normally.
          await this.state.faults.waitWhileHung(target);
        } else {
          send(res, this.failureResponse(target, plan.failure));
          return;
        }
      }
      let response = await routed.handle();
      if (plan.errorsAsHttp200 && response.status >= 400 && isJsonError(response))
        response = { ...response, status: 200 };
      if (plan.failure !== undefined && plan.applyAfter) {
        this.countFault(target, plan.failure);
        if (plan.failure.kind === 'hang') await this.state.faults.waitWhileHung(target);
        else response = this.failureResponse(target, plan.failure);
      }
      send(res, response);
    } catch (error) {
      if (this.stopped) {
        res.destroy();
        return;
      }
      throw error;
    }
  }

  private countFault(target: FaultTarget, failure: InjectedFailure): void {
    this.state.counters.fault(
      target,
      failure.kind === 'status'
        ? `status_${failure.status}`
        : failure.kind === 'malformed'
          ? `malformed_${failure.variant}`
          : 'hang',
    );
  }

  private failureResponse(target: FaultTarget, failure: Exclude<InjectedFailure, { kind: 'hang' }>): EmulatorResponse {
    if (failure.kind === 'status') {
      return { status: failure.status, headers: { 'content-type': failure.contentType }, body: failure.body };
    }
    if (failure.variant === 'not-json') {
      return {
        status: 200,
        headers: { 'content-type': 'text/html; charset=utf-8' },
        body: '<html><head><title>Bitrix24</title></head><body>Service temporarily unavailable</body></html>',
      };
    }
    const now = this.clock.now();
    // Valid JSON, 200, but nothing a client can use.
    return target === 'token'
      ? jsonResponse(200, { expires_in: 3600, domain: AUTH_SERVER_HOSTS.west })
      : jsonResponse(200, { time: restTime(now, now) });
  }
}

function notDelivered(tokens: GrantedTokens | undefined, applicationToken: string | undefined): LifecycleResult {
  return { status: 0, headers: {}, body: '', delivered: false, tokens, applicationToken, requestBody: '' };
}

/**
 * Starts the emulator on 127.0.0.1.
 *
 * @example
 * const emulator = await startBitrixEmulator({
 *   app: { clientId: 'local.abc.123', clientSecret: 's3cret', redirectUri: 'http://127.0.0.1:3000/oauth/callback' },
 *   clock: { frozen: true },
 * });
 * const portal = emulator.addPortal({ domain: 'alpha.bitrix24.com', region: 'west', installed: true });
 * process.env.BITRIX_URL_REWRITES = JSON.stringify(emulator.urlRewrites);
 * // …
 * await emulator.stop();
 */
export async function startBitrixEmulator(options: BitrixEmulatorOptions = {}): Promise<BitrixEmulator> {
  const clock = options.clock instanceof EmulatorClock ? options.clock : new EmulatorClock(options.clock ?? {});
  const tokens = new TokenStore(
    clock,
    {
      codeMs: options.codeLifetimeMs ?? 30_000,
      accessMs: options.accessLifetimeMs ?? 3_600_000,
      refreshMs: options.refreshLifetimeMs ?? 30 * 24 * 3_600_000,
    },
    options.limits,
  );
  const state = new EmulatorState(clock, tokens, new Counters(), new FaultController(options.faultSeed ?? 1), {
    refreshScope: options.refreshScope ?? 'app',
    errorStatuses: { ...DEFAULT_OAUTH_ERROR_STATUS, ...options.errorHttpStatus },
    eventTimeoutMs: options.eventTimeoutMs ?? 10_000,
  });
  const apps = options.apps ?? [options.app ?? DEFAULT_APP];
  if (apps.length === 0) throw new Error('at least one app must be registered');
  for (const app of apps) state.registerApp(app);

  const server = createServer();
  // Listening on port 0 lets the OS pick without the probe-then-bind race of a separate free-port step.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('could not read the listening port');
  const port = address.port;
  const emulator = new BitrixEmulator(server, port, state);
  emulator.links = options.links ?? [];
  for (const portal of options.portals ?? []) emulator.addPortal(portal);
  return emulator;
}
