import type { TokenKey } from './token-set.js';

/**
 * Which shard of a due index an item belongs to. The sweep reads every shard (one query each), so
 * spreading items evenly spreads the reads and writes of a large app over several partitions.
 */

/** FNV-1a over `memberId#userId`: a stable, cheap spread of token sets over `shards`. */
export function dueShardOf(key: TokenKey, shards: number): number {
  let hash = 0x811c9dc5;
  const text = `${key.memberId}#${key.userId}`;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % shards;
}

/** Parked-claim ids are SHA-256 hex, already uniform: their first 32 bits pick the shard. */
export function parkedShardOf(id: string, shards: number): number {
  const head = Number.parseInt(id.slice(0, 8), 16);
  return (Number.isNaN(head) ? 0 : head) % shards;
}
