import { createHash, randomBytes } from 'node:crypto';
import type { EmulatorClock } from './clock.js';

/** Lifetimes the token store enforces on the emulator clock. */
export interface TokenLifetimes {
  readonly codeMs: number;
  readonly accessMs: number;
  readonly refreshMs: number;
}

/** Who started a chain (each one is independent, docs/PROTOCOL.md §2.6). */
export type ChainOrigin = 'install' | 'update' | 'frame' | 'code' | 'event' | 'manual';

/** Why a chain stopped working before its refresh token expired. */
export type RevokeReason = 'uninstall' | 'manual';

/** A fresh pair as the emulator handed it out. Secret: never log it. */
export interface GrantedTokens {
  readonly accessToken: string;
  readonly refreshToken: string;
  /** Access expiry, unix seconds (also the token's first 4 bytes). */
  readonly expires: number;
  /** Seconds, 3600 by default. */
  readonly expiresIn: number;
  readonly refreshExpiresAt: number;
  readonly clientId: string;
  readonly memberId: string;
  readonly userId: number;
  readonly chainId: string;
  /** Comma-separated granted scopes. */
  readonly scope: string;
}

interface Generation {
  readonly number: number;
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly accessExpiresAt: number;
  readonly refreshExpiresAt: number;
  readonly issuedAt: number;
}

/** One refresh chain: the only live pair plus a short memory of the pairs it replaced. */
export interface Chain {
  readonly id: string;
  readonly clientId: string;
  readonly memberId: string;
  readonly userId: number;
  readonly origin: ChainOrigin;
  readonly createdAt: number;
  readonly scope: readonly string[];
  current: Generation;
  revoked: RevokeReason | undefined;
  refreshes: number;
  /** Replaced generations, newest last, so old tokens answer `expired_token`/`invalid_grant` knowingly. */
  retired: Generation[];
}

/** What the store knows about a presented access token. */
export type AccessCheck =
  | { readonly state: 'live'; readonly chain: Chain }
  | { readonly state: 'expired' | 'superseded' | 'revoked'; readonly chain: Chain }
  | { readonly state: 'unknown' };

/** What the store knows about a presented refresh token. */
export type RefreshCheck =
  | { readonly state: 'live'; readonly chain: Chain }
  | { readonly state: 'expired' | 'used' | 'revoked'; readonly chain: Chain }
  | { readonly state: 'unknown' };

/** An authorization code (30 s, single use). */
export interface CodeRecord {
  readonly code: string;
  readonly clientId: string;
  readonly memberId: string;
  readonly userId: number;
  readonly expiresAt: number;
  used: boolean;
}

/** What the store knows about a presented code. */
export type CodeCheck =
  | { readonly state: 'ok' | 'expired' | 'used'; readonly record: CodeRecord }
  | { readonly state: 'unknown' };

/** A chain as tests may inspect it: fingerprints instead of secrets. */
export interface ChainView {
  readonly chainId: string;
  readonly origin: ChainOrigin;
  readonly clientId: string;
  readonly memberId: string;
  readonly userId: number;
  /** 0 for the first pair, +1 per successful refresh. */
  readonly generation: number;
  readonly createdAt: number;
  readonly accessExpiresAt: number;
  readonly refreshExpiresAt: number;
  /** `fingerprint()` of the one live access token. */
  readonly accessFingerprint: string;
  /** `fingerprint()` of the one live refresh token. */
  readonly refreshFingerprint: string;
  readonly state: 'live' | 'refresh_expired' | 'revoked';
  readonly revokedReason: RevokeReason | undefined;
}

/** Per-chain memory of replaced pairs; older ones are forgotten and then answer as unknown. */
const RETIRED_GENERATIONS_KEPT = 16;

/**
 * Short, stable, non-reversible label of a token for assertions and logs.
 *
 * @example
 * expect(emulator.chainState(portal, 1)[0]?.refreshFingerprint).toBe(fingerprint(stored.refreshToken));
 */
export function fingerprint(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 12);
}

function idBytes(label: string): number {
  // Three bytes of a hash with a zero top byte, like the ids inside real tokens (`00715db2`).
  return createHash('md5').update(label).digest().readUInt32BE(0) & 0x00ffffff;
}

/**
 * A token shaped like Bitrix24's: 70 lowercase hex chars (35 bytes). Bytes 0–3 are a unix timestamp
 * little-endian (docs/PROTOCOL.md §2.7), bytes 4–11 two ids and 12–15 the user id big-endian (as seen in
 * real frame tokens), the rest random.
 */
export function bitrixToken(
  timestampSeconds: number,
  ids: { clientId: string; memberId: string; userId: number },
): string {
  const buffer = randomBytes(35);
  buffer.writeUInt32LE(timestampSeconds >>> 0, 0);
  buffer.writeUInt32BE(idBytes(ids.clientId), 4);
  buffer.writeUInt32BE(idBytes(ids.memberId), 8);
  buffer.writeUInt32BE(ids.userId >>> 0, 12);
  return buffer.toString('hex');
}

/** Reads the unix timestamp a Bitrix24-shaped token starts with; `undefined` for other strings. */
export function tokenTimestamp(token: string): number | undefined {
  if (!/^[0-9a-f]{70}$/.test(token)) return undefined;
  return Buffer.from(token.slice(0, 8), 'hex').readUInt32LE(0);
}

/** Limits that keep the store's memory bounded. */
export interface TokenStoreLimits {
  /** Above this many chains, dead ones (revoked or refresh-expired) are dropped, oldest first. @default 20000 */
  readonly maxChains?: number;
  /** Codes remembered (for reuse detection); the oldest are dropped first. @default 10000 */
  readonly maxCodes?: number;
}

/**
 * Codes and refresh chains. Rotation follows docs/PROTOCOL.md §2.6: a successful refresh retires the
 * used refresh token and the access token issued with it; every chain is independent.
 */
export class TokenStore {
  private readonly chains = new Map<string, Chain>();
  private readonly index = new Map<
    string,
    { readonly chain: Chain; readonly kind: 'access' | 'refresh'; readonly generation: number }
  >();
  private readonly codes = new Map<string, CodeRecord>();
  private nextChainId = 1;
  private readonly maxChains: number;
  private readonly maxCodes: number;

  constructor(
    private readonly clock: EmulatorClock,
    private readonly lifetimes: TokenLifetimes,
    limits: TokenStoreLimits = {},
  ) {
    this.maxChains = limits.maxChains ?? 20_000;
    this.maxCodes = limits.maxCodes ?? 10_000;
  }

  /** Starts an independent chain with a fresh pair. */
  startChain(input: {
    clientId: string;
    memberId: string;
    userId: number;
    origin: ChainOrigin;
    scope: readonly string[];
  }): GrantedTokens {
    if (this.chains.size >= this.maxChains) this.pruneDeadChains();
    const chain: Chain = {
      id: `chain-${this.nextChainId++}`,
      clientId: input.clientId,
      memberId: input.memberId,
      userId: input.userId,
      origin: input.origin,
      createdAt: this.clock.now(),
      scope: [...input.scope],
      current: this.newGeneration(0, input),
      revoked: undefined,
      refreshes: 0,
      retired: [],
    };
    this.chains.set(chain.id, chain);
    this.indexGeneration(chain, chain.current);
    return this.view(chain);
  }

  /** Replaces the chain's pair: the old refresh and access tokens stop working. */
  rotate(chain: Chain): GrantedTokens {
    chain.retired.push(chain.current);
    while (chain.retired.length > RETIRED_GENERATIONS_KEPT) {
      const forgotten = chain.retired.shift();
      if (forgotten !== undefined) {
        this.index.delete(forgotten.accessToken);
        this.index.delete(forgotten.refreshToken);
      }
    }
    chain.current = this.newGeneration(chain.current.number + 1, chain);
    chain.refreshes += 1;
    this.indexGeneration(chain, chain.current);
    return this.view(chain);
  }

  /** Classifies an access token presented to REST. */
  checkAccess(token: string): AccessCheck {
    const entry = this.index.get(token);
    if (entry === undefined || entry.kind !== 'access') return { state: 'unknown' };
    const { chain } = entry;
    if (chain.revoked !== undefined) return { state: 'revoked', chain };
    if (entry.generation !== chain.current.number) return { state: 'superseded', chain };
    if (this.clock.now() >= chain.current.accessExpiresAt) return { state: 'expired', chain };
    return { state: 'live', chain };
  }

  /** Classifies a refresh token presented to `/oauth/token/`. */
  checkRefresh(token: string): RefreshCheck {
    const entry = this.index.get(token);
    if (entry === undefined || entry.kind !== 'refresh') return { state: 'unknown' };
    const { chain } = entry;
    if (chain.revoked !== undefined) return { state: 'revoked', chain };
    if (entry.generation !== chain.current.number) return { state: 'used', chain };
    if (this.clock.now() >= chain.current.refreshExpiresAt) return { state: 'expired', chain };
    return { state: 'live', chain };
  }

  /** Issues a single-use code. */
  issueCode(input: { clientId: string; memberId: string; userId: number }): string {
    while (this.codes.size >= this.maxCodes) {
      const oldest = this.codes.keys().next();
      if (oldest.done === true) break;
      this.codes.delete(oldest.value);
    }
    const expiresAt = this.clock.now() + this.lifetimes.codeMs;
    const code = bitrixToken(Math.floor(expiresAt / 1000), input);
    this.codes.set(code, { code, ...input, expiresAt, used: false });
    return code;
  }

  /** Classifies a code without consuming it. */
  checkCode(code: string): CodeCheck {
    const record = this.codes.get(code);
    if (record === undefined) return { state: 'unknown' };
    if (record.used) return { state: 'used', record };
    if (this.clock.now() >= record.expiresAt) return { state: 'expired', record };
    return { state: 'ok', record };
  }

  /** Marks a code used: any later exchange answers `expired_token`. */
  useCode(record: CodeRecord): void {
    record.used = true;
  }

  /** Kills every chain and pending code of one app on one portal (uninstall). */
  revokeInstallation(clientId: string, memberId: string, reason: RevokeReason): number {
    let revoked = 0;
    for (const chain of this.chains.values()) {
      if (chain.clientId === clientId && chain.memberId === memberId && chain.revoked === undefined) {
        chain.revoked = reason;
        revoked += 1;
      }
    }
    for (const [code, record] of this.codes) {
      if (record.clientId === clientId && record.memberId === memberId) this.codes.delete(code);
    }
    return revoked;
  }

  /** Revokes one chain by id (a test helper: "the admin revoked this session"). */
  revokeChain(chainId: string): boolean {
    const chain = this.chains.get(chainId);
    if (chain === undefined || chain.revoked !== undefined) return false;
    chain.revoked = 'manual';
    return true;
  }

  /** Chains of a portal (optionally one user / app), oldest first, without secrets. */
  listChains(filter: { memberId: string; userId?: number; clientId?: string }): ChainView[] {
    const now = this.clock.now();
    const views: ChainView[] = [];
    for (const chain of this.chains.values()) {
      if (chain.memberId !== filter.memberId) continue;
      if (filter.userId !== undefined && chain.userId !== filter.userId) continue;
      if (filter.clientId !== undefined && chain.clientId !== filter.clientId) continue;
      views.push({
        chainId: chain.id,
        origin: chain.origin,
        clientId: chain.clientId,
        memberId: chain.memberId,
        userId: chain.userId,
        generation: chain.current.number,
        createdAt: chain.createdAt,
        accessExpiresAt: chain.current.accessExpiresAt,
        refreshExpiresAt: chain.current.refreshExpiresAt,
        accessFingerprint: fingerprint(chain.current.accessToken),
        refreshFingerprint: fingerprint(chain.current.refreshToken),
        state:
          chain.revoked !== undefined ? 'revoked' : now >= chain.current.refreshExpiresAt ? 'refresh_expired' : 'live',
        revokedReason: chain.revoked,
      });
    }
    return views;
  }

  /** How many chains are held (for the memory bound). */
  get chainCount(): number {
    return this.chains.size;
  }

  private newGeneration(number: number, ids: { clientId: string; memberId: string; userId: number }): Generation {
    const issuedAt = this.clock.now();
    // Second resolution, so the token's embedded timestamp, `expires` and the server's check agree.
    const expires = Math.floor((issuedAt + this.lifetimes.accessMs) / 1000);
    const refreshExpiresAt = issuedAt + this.lifetimes.refreshMs;
    return {
      number,
      accessToken: bitrixToken(expires, ids),
      refreshToken: bitrixToken(Math.floor(refreshExpiresAt / 1000), ids),
      accessExpiresAt: expires * 1000,
      refreshExpiresAt,
      issuedAt,
    };
  }

  private indexGeneration(chain: Chain, generation: Generation): void {
    this.index.set(generation.accessToken, { chain, kind: 'access', generation: generation.number });
    this.index.set(generation.refreshToken, { chain, kind: 'refresh', generation: generation.number });
  }

  private view(chain: Chain): GrantedTokens {
    const { current } = chain;
    return {
      accessToken: current.accessToken,
      refreshToken: current.refreshToken,
      expires: Math.floor(current.accessExpiresAt / 1000),
      expiresIn: Math.round(this.lifetimes.accessMs / 1000),
      refreshExpiresAt: current.refreshExpiresAt,
      clientId: chain.clientId,
      memberId: chain.memberId,
      userId: chain.userId,
      chainId: chain.id,
      scope: chain.scope.join(','),
    };
  }

  private pruneDeadChains(): void {
    const now = this.clock.now();
    for (const chain of this.chains.values()) {
      if (this.chains.size < this.maxChains) return;
      if (chain.revoked === undefined && now < chain.current.refreshExpiresAt) continue;
      for (const generation of [...chain.retired, chain.current]) {
        this.index.delete(generation.accessToken);
        this.index.delete(generation.refreshToken);
      }
      this.chains.delete(chain.id);
    }
  }
}
