import { createHash } from 'node:crypto';
import type { EmulatorClock } from './clock.js';
import type { Counters } from './counters.js';
import type { OAuthErrorCode } from './errors.js';
import type { FaultController } from './faults.js';
import {
  type AppStatus,
  AUTH_SERVER_HOSTS,
  DEFAULT_SCOPE,
  type EmulatorApp,
  type EmulatorAppOptions,
  type EmulatorUser,
  type InstallationState,
  type PortalOptions,
  type PortalPlan,
  type RateLimit,
  type Region,
} from './model.js';
import type { GrantedTokens, TokenStore } from './tokens.js';

/** Resolved leaky-bucket parameters. */
export interface BucketLimits {
  readonly burst: number;
  readonly drainPerSecond: number;
}

/** Everything the emulator holds about one portal. Internal: tests get an `EmulatorPortal` handle. */
export interface PortalState {
  domain: string;
  readonly memberId: string;
  readonly region: Region;
  readonly previousDomains: string[];
  readonly users: Map<number, EmulatorUser>;
  plan: PortalPlan;
  readonly language: string;
  readonly installations: Map<string, InstallationState>;
  rateLimit: BucketLimits | false;
  bucket: { level: number; at: number };
  /** `method → emulator time until which it answers OPERATION_TIME_LIMIT`. */
  readonly blockedMethods: Map<string, number>;
  /** Stable `event_handler_id` per event name. */
  readonly eventHandlerIds: Map<string, number>;
  /** Deleted by its owner: the token endpoint and REST answer `PORTAL_DELETED` for it. */
  deleted: boolean;
}

/** A portal as tests and the local runner see it. Read-only view; change it through the emulator. */
export class EmulatorPortal {
  /** @internal Built by the emulator. */
  constructor(private readonly state: PortalState) {}

  /** Current host (changes on `rename`). */
  get domain(): string {
    return this.state.domain;
  }

  /** Stable across renames. */
  get memberId(): string {
    return this.state.memberId;
  }

  get region(): Region {
    return this.state.region;
  }

  /** `oauth.bitrix.info` or `oauth.bitrix24.tech`. */
  get authServerHost(): string {
    return AUTH_SERVER_HOSTS[this.state.region];
  }

  /** `https://{domain}/rest/`. */
  get clientEndpoint(): string {
    return `https://${this.state.domain}/rest/`;
  }

  /** `https://{auth server}/rest/`. */
  get serverEndpoint(): string {
    return `https://${this.authServerHost}/rest/`;
  }

  /** Hosts this portal had before renames; they answer 302 to the current host. */
  get previousDomains(): readonly string[] {
    return [...this.state.previousDomains];
  }

  get plan(): PortalPlan {
    return this.state.plan;
  }

  get language(): string {
    return this.state.language;
  }

  get users(): readonly EmulatorUser[] {
    return [...this.state.users.values()];
  }

  /** Whether the app (default: the first registered) is installed here. */
  isInstalled(clientId?: string): boolean {
    return this.findInstallation(clientId)?.installed === true;
  }

  /** Whether the app called `BX24.installFinish()` (or was installed as finished). */
  installFinished(clientId?: string): boolean {
    return this.findInstallation(clientId)?.finished === true;
  }

  /** Whether the app's paid period is over here (`setPayment(…, 'expired')`). */
  paymentExpired(clientId?: string): boolean {
    return this.findInstallation(clientId)?.paymentExpired === true;
  }

  /** The app's current `application_token` here (secret: for assertions, never log it). */
  applicationToken(clientId?: string): string | undefined {
    return this.findInstallation(clientId)?.applicationToken;
  }

  private findInstallation(clientId: string | undefined): InstallationState | undefined {
    if (clientId !== undefined) return this.state.installations.get(clientId);
    return this.state.installations.values().next().value;
  }
}

/** Default users: one admin with id 1. */
const DEFAULT_USERS: readonly EmulatorUser[] = [{ id: 1, admin: true, name: 'Admin', lastName: 'Emulator' }];

/** Bucket defaults per plan (docs/PROTOCOL.md §3.3). */
export function planRateLimit(plan: PortalPlan, override?: RateLimit): BucketLimits {
  const enterprise = plan === 'enterprise';
  return {
    burst: override?.burst ?? (enterprise ? 250 : 50),
    drainPerSecond: override?.drainPerSecond ?? (enterprise ? 5 : 2),
  };
}

/** Lowercase host without trailing dots. */
export function normalizeHost(host: string): string {
  return host.trim().toLowerCase().replace(/\.+$/, '');
}

/** Portals by member id and by every host they answer (current and previous). */
export class PortalRegistry {
  private readonly byMemberId = new Map<string, PortalState>();
  private readonly byHost = new Map<string, PortalState>();

  add(options: PortalOptions): PortalState {
    const domain = normalizeHost(options.domain);
    if (domain.length === 0) throw new Error('portal domain is empty');
    if (this.byHost.has(domain)) throw new Error(`portal ${domain} already exists`);
    const memberId = options.memberId ?? createHash('md5').update(domain).digest('hex');
    if (this.byMemberId.has(memberId)) throw new Error(`member_id ${memberId} already exists`);
    const plan = options.plan ?? 'professional';
    const users = options.users ?? DEFAULT_USERS;
    if (users.length === 0) throw new Error('a portal needs at least one user');
    const state: PortalState = {
      domain,
      memberId,
      region: options.region,
      previousDomains: [],
      users: new Map(users.map((user) => [user.id, user])),
      plan,
      language: options.language ?? (options.region === 'east' ? 'ru' : 'en'),
      installations: new Map(),
      rateLimit: options.rateLimit === false ? false : planRateLimit(plan, options.rateLimit),
      bucket: { level: 0, at: 0 },
      blockedMethods: new Map(),
      eventHandlerIds: new Map(),
      deleted: false,
    };
    this.byMemberId.set(memberId, state);
    this.byHost.set(domain, state);
    return state;
  }

  /** The portal answering a host, and whether the host is an old name. */
  findByHost(host: string): { readonly portal: PortalState; readonly renamed: boolean } | undefined {
    const portal = this.byHost.get(normalizeHost(host));
    if (portal === undefined) return undefined;
    return { portal, renamed: portal.domain !== normalizeHost(host) };
  }

  /** A portal by current domain, previous domain or member id. */
  find(ref: string): PortalState | undefined {
    return this.byMemberId.get(ref) ?? this.byHost.get(normalizeHost(ref));
  }

  rename(portal: PortalState, newDomain: string): void {
    const domain = normalizeHost(newDomain);
    const holder = this.byHost.get(domain);
    if (holder !== undefined && holder !== portal) throw new Error(`host ${domain} belongs to another portal`);
    if (domain === portal.domain) return;
    portal.previousDomains.push(portal.domain);
    portal.domain = domain;
    // An old name given back to this portal becomes current again; it must not redirect to itself.
    const index = portal.previousDomains.indexOf(domain);
    if (index >= 0) portal.previousDomains.splice(index, 1);
    this.byHost.set(domain, portal);
  }

  all(): PortalState[] {
    return [...this.byMemberId.values()];
  }
}

/** Behaviour switches fixed at start. */
export interface EmulatorSettings {
  readonly refreshScope: 'app' | 'granted';
  readonly errorStatuses: Readonly<Record<OAuthErrorCode, number>>;
  readonly eventTimeoutMs: number;
}

/** The emulator's whole state, shared by the virtual hosts and the action API. */
export class EmulatorState {
  readonly apps = new Map<string, EmulatorApp>();
  readonly portals = new PortalRegistry();

  constructor(
    readonly clock: EmulatorClock,
    readonly tokens: TokenStore,
    readonly counters: Counters,
    readonly faults: FaultController,
    readonly settings: EmulatorSettings,
  ) {}

  /** Registers (or replaces) an app. */
  registerApp(options: EmulatorAppOptions): EmulatorApp {
    const existing = this.apps.get(options.clientId);
    const app: EmulatorApp = {
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      redirectUri: options.redirectUri,
      eventHandlerUrl: options.eventHandlerUrl,
      installUrl: options.installUrl,
      scope: [...(options.scope ?? DEFAULT_SCOPE)],
      status: options.status ?? (options.clientId.startsWith('local.') ? 'L' : 'F'),
      version: options.version ?? 1,
      authorizeStartUrl: options.authorizeStartUrl,
      localId: existing?.localId ?? this.apps.size + 1,
    };
    this.apps.set(app.clientId, app);
    return app;
  }

  /** An app by client id, or the first registered one. */
  app(clientId?: string): EmulatorApp {
    const app = clientId === undefined ? this.apps.values().next().value : this.apps.get(clientId);
    if (app === undefined) throw new Error(clientId === undefined ? 'no app registered' : `unknown app ${clientId}`);
    return app;
  }

  /** A portal by handle, domain (current or old) or member id. */
  portal(ref: EmulatorPortal | string): PortalState {
    const key = typeof ref === 'string' ? ref : ref.memberId;
    const portal = this.portals.find(key);
    if (portal === undefined) throw new Error(`unknown portal ${key}`);
    return portal;
  }

  /** The app's installation record on a portal, created (not installed) on first use. */
  installation(portal: PortalState, app: EmulatorApp): InstallationState {
    const existing = portal.installations.get(app.clientId);
    if (existing !== undefined) return existing;
    const created: InstallationState = {
      clientId: app.clientId,
      installed: false,
      finished: false,
      applicationToken: undefined,
      version: app.version,
      status: app.status,
      paymentExpired: false,
    };
    portal.installations.set(app.clientId, created);
    return created;
  }

  /** The admin who installs by default: the first admin, else the first user. */
  defaultUser(portal: PortalState): number {
    for (const user of portal.users.values()) if (user.admin === true) return user.id;
    const first = portal.users.keys().next();
    if (first.done === true) throw new Error('portal has no users');
    return first.value;
  }

  /** Fails unless the user exists on the portal. */
  requireUser(portal: PortalState, userId: number): EmulatorUser {
    const user = portal.users.get(userId);
    if (user === undefined) throw new Error(`user ${userId} does not exist on ${portal.domain}`);
    return user;
  }

  /**
   * The token endpoint's success body, fields in the order of the real 2024 capture (docs/PROTOCOL.md §2.5).
   * `domain`/`server_endpoint` name the portal's regional server, whichever host was asked.
   */
  tokenAnswer(
    portal: PortalState,
    tokens: GrantedTokens,
    scope: string,
    status: AppStatus,
  ): Record<string, string | number> {
    const authHost = AUTH_SERVER_HOSTS[portal.region];
    return {
      access_token: tokens.accessToken,
      expires: tokens.expires,
      expires_in: tokens.expiresIn,
      scope,
      domain: authHost,
      server_endpoint: `https://${authHost}/rest/`,
      status,
      client_endpoint: `https://${portal.domain}/rest/`,
      member_id: portal.memberId,
      user_id: tokens.userId,
      refresh_token: tokens.refreshToken,
    };
  }
}
