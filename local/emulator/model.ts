/**
 * Shared vocabulary of the emulator: regions, apps, portals and their installations.
 * Plain data only; behaviour lives in the servers and the token store.
 */

/** Bitrix24's two OAuth regions (docs/PROTOCOL.md §2.1). */
export type Region = 'west' | 'east';

/** Authorization server host per region. */
export const AUTH_SERVER_HOSTS: Readonly<Record<Region, string>> = {
  west: 'oauth.bitrix.info',
  east: 'oauth.bitrix24.tech',
};

/** Every host the emulator answers as an authorization server. */
export const AUTH_SERVER_HOST_LIST: readonly string[] = Object.values(AUTH_SERVER_HOSTS);

/** App status letters as `app.info` and token answers carry them (docs/PROTOCOL.md §2.5). */
export type AppStatus = 'F' | 'D' | 'T' | 'P' | 'L' | 'S';

/** Portal tariff; drives the REST leaky bucket and the free-plan REST refusal. */
export type PortalPlan = 'free' | 'basic' | 'standard' | 'professional' | 'enterprise';

/** An application as registered in the partner cabinet (or as a local app of a portal). */
export interface EmulatorAppOptions {
  /** `app.xxxx.yyyy` (marketplace) or `local.xxxx.yyyy` (local app). */
  readonly clientId: string;
  readonly clientSecret: string;
  /** Where `/oauth/authorize/` sends the browser. @default none: the portal shows the code on a page */
  readonly redirectUri?: string;
  /** Receives ONAPPINSTALL / ONAPPUPDATE / ONAPPUNINSTALL and `sendEvent` posts. @default none */
  readonly eventHandlerUrl?: string;
  /** The install/frame page `openApp` posts to. @default none */
  readonly installUrl?: string;
  /** Granted scopes. @default ['crm', 'user_brief', 'placement'] */
  readonly scope?: readonly string[];
  /** Status letter. @default 'L' for `local.*` client ids, otherwise 'F' */
  readonly status?: AppStatus;
  /** App version reported by `app.info` and install events. @default 1 */
  readonly version?: number;
  /**
   * The service's own "start authorization" URL with a `{domain}` placeholder, used by the control
   * page's "authorize" link so the service issues a real `state`. @default none: link to the portal
   */
  readonly authorizeStartUrl?: string;
}

/** A resolved app with every default applied. */
export interface EmulatorApp {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUri: string | undefined;
  readonly eventHandlerUrl: string | undefined;
  readonly installUrl: string | undefined;
  readonly scope: readonly string[];
  readonly status: AppStatus;
  readonly version: number;
  readonly authorizeStartUrl: string | undefined;
  /** Numeric id `app.info` reports as `ID`. */
  readonly localId: number;
}

/** A user of a portal. */
export interface EmulatorUser {
  readonly id: number;
  /** @default false (true for the default user 1) */
  readonly admin?: boolean;
  readonly name?: string;
  readonly lastName?: string;
}

/** Leaky-bucket parameters (docs/PROTOCOL.md §3.3). */
export interface RateLimit {
  /** Requests allowed in a burst. @default 50 (250 on enterprise) */
  readonly burst?: number;
  /** Requests drained per second of emulator time. @default 2 (5 on enterprise) */
  readonly drainPerSecond?: number;
}

/** What `addPortal` takes. */
export interface PortalOptions {
  /** Portal host, e.g. `alpha.bitrix24.com`. */
  readonly domain: string;
  /** Stable portal id. @default md5 of the domain (32 hex) */
  readonly memberId?: string;
  /** Decides the authorization server. */
  readonly region: Region;
  /** @default [{ id: 1, admin: true, name: 'Admin', lastName: 'Emulator' }] */
  readonly users?: readonly EmulatorUser[];
  /** @default 'professional' */
  readonly plan?: PortalPlan;
  /** UI language for events and frames. @default 'ru' for east, 'en' for west */
  readonly language?: string;
  /**
   * Mark apps installed at creation, silently (no event is sent: the service may not be up yet).
   * `true` = the default app. @default false
   */
  readonly installed?: boolean | readonly string[];
  /** REST leaky bucket; `false` disables it. @default from the plan */
  readonly rateLimit?: RateLimit | false;
}

/** One app's installation on one portal. */
export interface InstallationState {
  readonly clientId: string;
  installed: boolean;
  /** `BX24.installFinish()` called: `app.info` → `INSTALLED: true`. */
  finished: boolean;
  applicationToken: string | undefined;
  version: number;
  status: AppStatus;
  paymentExpired: boolean;
}

/** Default scopes of an app. */
export const DEFAULT_SCOPE: readonly string[] = ['crm', 'user_brief', 'placement'];
