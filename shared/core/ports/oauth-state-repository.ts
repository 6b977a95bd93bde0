import type { EpochMs } from '#shared/core/domain/time.js';
/** A pending authorization: created by the start endpoint, consumed once by the callback. */
export interface OAuthStateRecord {
  /** 256-bit random value sent as `state`. */
  readonly state: string;
  /** Portal host the user asked to connect. */
  readonly portal: string;
  /** SHA-256 of the browser-binding cookie value (hex). */
  readonly browserBindingHash: string;
  /** Where to send the user after success (path on our site), if any. */
  readonly returnTo?: string | undefined;
  readonly createdAt: EpochMs;
  /** after it the state is refused even if DynamoDB TTL has not deleted it yet. */
  readonly expiresAt: EpochMs;
}

/**
 * Single-use storage for OAuth `state`.
 *
 * @example
 * await states.put(record);
 * const found = await states.consume(record.state); // undefined the second time
 */
export interface OAuthStateRepository {
  put(record: OAuthStateRecord): Promise<void>;
  /** Deletes and returns the record in one conditional step; undefined if unknown or already used. */
  consume(state: string): Promise<OAuthStateRecord | undefined>;
}
