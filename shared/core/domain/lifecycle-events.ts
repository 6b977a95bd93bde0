import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import { once } from '#shared/core/domain/once.js';
import type { EpochMs } from '#shared/core/domain/time.js';
import { hashApplicationToken } from './application-token.js';

/**
 * Wire types of the app-lifecycle messages Bitrix24 sends us (event webhooks and the install frame's
 * POST), and the one domain shape they turn into once parsed: an `InstallClaim` (tokens someone claims
 * were issued to our app for a portal — unproven until the authorization server confirms) or an
 * `UninstallClaim`.
 *
 * Wire rules (docs/PROTOCOL.md §4, §5): bodies are form-encoded, so every leaf arrives as a string; the same
 * payloads also arrive as JSON in documentation and tests, where numbers appear. Each leaf therefore
 * accepts a string or a finite number and becomes a string. Keys stay snake_case / UPPER as sent.
 */

/**
 * The wire schemas, built on first use: schema construction costs milliseconds, and only the functions
 * that parse lifecycle messages should pay them (the others import this module for its types and
 * claim helpers).
 *
 * @example
 * const parsed = lifecycleSchemas().installFrameBody.safeParse(body);
 */
export const lifecycleSchemas = once(() => {
  /** A leaf as it arrives: a string (form bodies) or a number (JSON), bounded, read as trimmed text. */
  const leaf = (max: number) =>
    z.pipe(
      z.union([z.string().check(z.maxLength(max)), z.number().check(z.refine(Number.isFinite))]),
      z.transform((value: string | number) => String(value).trim()),
    );

  const requiredLeaf = (max: number) => z.pipe(leaf(max), z.string().check(z.minLength(1)));

  /** Tokens, ids and hashes Bitrix24 issues: printable ASCII without separators. */
  const opaque = (max: number) =>
    z.pipe(requiredLeaf(max), z.string().check(z.regex(/^[\x21-\x7e]+$/, 'must be printable ASCII')));

  /** `member_id`: 32 hex in practice; documentation samples redact it with dots. */
  const memberIdSchema = z.pipe(requiredLeaf(64), z.string().check(z.regex(/^[A-Za-z0-9._-]+$/, 'is not a member id')));

  /** An absolute http(s) URL (endpoints). */
  const endpoint = z.pipe(
    requiredLeaf(512),
    z.string().check(
      z.refine((value: string) => {
        try {
          const url = new URL(value);
          return (url.protocol === 'https:' || url.protocol === 'http:') && url.username === '' && url.password === '';
        } catch {
          return false;
        }
      }, 'is not an http(s) URL'),
    ),
  );

  /** Non-negative integer sent as text (`user_id`, `expires`). */
  const integerText = z.pipe(
    z.pipe(leaf(20), z.string().check(z.regex(/^\d{1,15}$/, 'is not a non-negative integer'))),
    z.transform(Number),
  );

  const optionalLeaf = (max: number) => z.optional(leaf(max));

  /** `auth` of ONAPPINSTALL / ONAPPUPDATE: both tokens, the application token and the endpoints. */
  const installAuthSchema = z.object({
    access_token: opaque(512),
    refresh_token: opaque(512),
    application_token: opaque(256),
    member_id: memberIdSchema,
    domain: requiredLeaf(253),
    client_endpoint: endpoint,
    server_endpoint: endpoint,
    expires: z.optional(integerText),
    expires_in: z.optional(integerText),
    scope: optionalLeaf(2048),
    status: optionalLeaf(8),
    user_id: z.optional(integerText),
  });

  /** `data` of ONAPPINSTALL / ONAPPUPDATE (all optional; informational). */
  const installDataSchema = z.object({
    VERSION: optionalLeaf(32),
    PREVIOUS_VERSION: optionalLeaf(32),
    ACTIVE: optionalLeaf(8),
    INSTALLED: optionalLeaf(8),
    LANGUAGE_ID: optionalLeaf(16),
  });

  const installEventSchema = z.object({
    event: requiredLeaf(64),
    ts: optionalLeaf(20),
    event_handler_id: optionalLeaf(32),
    data: z.optional(installDataSchema),
    auth: installAuthSchema,
  });

  /** ONAPPUNINSTALL: no tokens, only the application token to prove it comes from Bitrix24. */
  const uninstallEventSchema = z.object({
    event: requiredLeaf(64),
    ts: optionalLeaf(20),
    data: z.optional(z.object({ CLEAN: optionalLeaf(8), LANGUAGE_ID: optionalLeaf(16) })),
    auth: z.object({
      application_token: opaque(256),
      member_id: memberIdSchema,
      domain: optionalLeaf(253),
      client_endpoint: z.optional(endpoint),
      server_endpoint: z.optional(endpoint),
    }),
  });

  /**
   * What every event shares; enough to dispatch on and to acknowledge events we do not handle. `data`
   * and `auth` vary per event (ONOFFLINEEVENT sends `data` as an empty list) and are checked per event.
   */
  const eventEnvelopeSchema = z.object({
    // A name, never a number or a list: both encodings send it as a string.
    event: z.string().check(z.maxLength(64), z.regex(/^[A-Za-z0-9_.:-]+$/, 'is not an event name')),
    ts: optionalLeaf(20),
    event_handler_id: optionalLeaf(32),
    data: z.optional(z.unknown()),
    auth: z.optional(z.record(z.string(), z.unknown())),
  });

  /** The install frame's POST body (docs/PROTOCOL.md §5). `SERVER_ENDPOINT`, `APPLICATION_TOKEN`, `APPLICATION_SCOPE` are newer and optional. */
  const installFrameBodySchema = z.object({
    AUTH_ID: opaque(512),
    AUTH_EXPIRES: z.optional(integerText),
    REFRESH_ID: opaque(512),
    member_id: memberIdSchema,
    status: optionalLeaf(8),
    PLACEMENT: optionalLeaf(128),
    PLACEMENT_OPTIONS: optionalLeaf(8192),
    SERVER_ENDPOINT: z.optional(endpoint),
    APPLICATION_TOKEN: z.optional(opaque(256)),
    APPLICATION_SCOPE: optionalLeaf(2048),
  });

  /** The install frame's query string. `APP_SID` is a per-render session id, never the application token. */
  const installFrameQuerySchema = z.object({
    DOMAIN: optionalLeaf(261),
    PROTOCOL: optionalLeaf(1),
    LANG: optionalLeaf(16),
    APP_SID: optionalLeaf(128),
  });

  return {
    memberId: memberIdSchema,
    installEvent: installEventSchema,
    uninstallEvent: uninstallEventSchema,
    eventEnvelope: eventEnvelopeSchema,
    installFrameBody: installFrameBodySchema,
    installFrameQuery: installFrameQuerySchema,
  };
});

type Schemas = ReturnType<typeof lifecycleSchemas>;
export type InstallEventWire = z.output<Schemas['installEvent']>;
export type UninstallEventWire = z.output<Schemas['uninstallEvent']>;
export type EventEnvelopeWire = z.output<Schemas['eventEnvelope']>;
export type InstallFrameBodyWire = z.output<Schemas['installFrameBody']>;
export type InstallFrameQueryWire = z.output<Schemas['installFrameQuery']>;

/** The lifecycle events we act on; every other event is acknowledged and ignored. */
export type LifecycleEventName = 'ONAPPINSTALL' | 'ONAPPUPDATE' | 'ONAPPUNINSTALL';

/** Event names compare case-insensitively (`onAppInstall` in older docs, `ONAPPINSTALL` on the wire). */
export function lifecycleEventName(event: string): LifecycleEventName | undefined {
  const upper = event.toUpperCase();
  return upper === 'ONAPPINSTALL' || upper === 'ONAPPUPDATE' || upper === 'ONAPPUNINSTALL' ? upper : undefined;
}

/** What started a claim. */
export const CLAIM_TRIGGERS = ['ONAPPINSTALL', 'ONAPPUPDATE', 'install_page'] as const;

export type ClaimTrigger = (typeof CLAIM_TRIGGERS)[number];

/**
 * Tokens a message claims were issued to our app for `memberId`. Nothing in it is trusted until the
 * authorization server, reached through an allow-listed host, answers a refresh of `refreshToken`
 * with this very `memberId`.
 */
export interface InstallClaim {
  readonly trigger: ClaimTrigger;
  readonly memberId: string;
  /** The portal host the message names: unverified, shown to operators only. */
  readonly domain?: string | undefined;
  readonly refreshToken: string;
  /**
   * Authorization servers to try, in order (REST bases like `https://oauth.bitrix.info/rest/`). One
   * when the message named its server; the default first and the other allow-listed ones after it when
   * it did not (an install frame without `SERVER_ENDPOINT`).
   */
  readonly serverEndpoints: readonly string[];
  /** SHA-256 of the message's application token; the token itself is dropped at parse time. */
  readonly applicationTokenHash?: string | undefined;
  readonly scope?: string | undefined;
  readonly appVersion?: string | undefined;
  /** The user the message names (unverified; used only when the server's answer lacks `user_id`). */
  readonly claimedUserId?: number | undefined;
  /** when we received the message: decides which of two writes is newer. */
  readonly receivedAt: EpochMs;
}

/** An ONAPPUNINSTALL, parsed. */
export interface UninstallClaim {
  readonly memberId: string;
  readonly applicationToken: string;
  /** `data[CLEAN]=1`: the admin asked to delete the app's data too. */
  readonly clean: boolean;
  readonly receivedAt: EpochMs;
}

/** Turns a validated ONAPPINSTALL / ONAPPUPDATE into a claim. */
export function claimFromInstallEvent(
  wire: InstallEventWire,
  trigger: 'ONAPPINSTALL' | 'ONAPPUPDATE',
  receivedAt: number,
): InstallClaim {
  return {
    trigger,
    memberId: wire.auth.member_id,
    domain: nonEmpty(wire.auth.domain),
    refreshToken: wire.auth.refresh_token,
    serverEndpoints: [wire.auth.server_endpoint],
    applicationTokenHash: hashApplicationToken(wire.auth.application_token),
    scope: nonEmpty(wire.auth.scope),
    appVersion: nonEmpty(wire.data?.VERSION),
    claimedUserId: wire.auth.user_id,
    receivedAt,
  };
}

/**
 * Turns a validated install-frame POST into a claim. Without `SERVER_ENDPOINT` the default server is
 * tried first and the other allow-listed ones after it (a refresh on the wrong server is refused
 * without spending the token).
 */
export function claimFromInstallFrame(
  body: InstallFrameBodyWire,
  receivedAt: number,
  options: {
    readonly defaultServerEndpoint: string;
    readonly allowedAuthServers: readonly string[];
    /** The portal host the query names (`DOMAIN`). */
    readonly domain?: string | undefined;
  },
): InstallClaim {
  const serverEndpoints =
    body.SERVER_ENDPOINT !== undefined
      ? [body.SERVER_ENDPOINT]
      : uniqueInOrder([
          options.defaultServerEndpoint,
          ...options.allowedAuthServers.map((host) => `https://${host}/rest/`),
        ]);
  return {
    trigger: 'install_page',
    memberId: body.member_id,
    domain: options.domain,
    refreshToken: body.REFRESH_ID,
    serverEndpoints,
    applicationTokenHash:
      body.APPLICATION_TOKEN === undefined ? undefined : hashApplicationToken(body.APPLICATION_TOKEN),
    scope: nonEmpty(body.APPLICATION_SCOPE),
    receivedAt,
  };
}

/** Turns a validated ONAPPUNINSTALL into a request. */
export function uninstallClaimFromEvent(wire: UninstallEventWire, receivedAt: number): UninstallClaim {
  return {
    memberId: wire.auth.member_id,
    applicationToken: wire.auth.application_token,
    clean: wire.data?.CLEAN === '1' || wire.data?.CLEAN?.toUpperCase() === 'Y',
    receivedAt,
  };
}

/**
 * A stable id of one claim: the same message delivered twice (or a reloaded install frame) has the same
 * id. It hashes the refresh token, which is single-use and unique per message, so the id reveals
 * nothing and cannot be guessed.
 */
export function claimId(claim: Pick<InstallClaim, 'memberId' | 'refreshToken'>): string {
  return createHash('sha256').update(`${claim.memberId}\n${claim.refreshToken}`, 'utf8').digest('hex');
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.length === 0 ? undefined : value;
}

function uniqueInOrder(values: readonly string[]): string[] {
  return [...new Set(values)];
}
