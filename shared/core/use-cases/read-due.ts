import type { TokenKey } from '#shared/core/domain/token-set.js';
import type { TokenRepository } from '#shared/core/ports/token-repository.js';

/** A token set's key and the due time the index holds for it. */
export type DueKey = TokenKey & { readonly dueAt: number };

/**
 * Due keys of every shard (`dueAt ≤ now`), at most `maxKeys` in all (an even share per shard), oldest
 * first: one Query per shard and page, never a Scan, so the cost follows what is due rather than the
 * table's size. `moreDue` says whether a shard held more than its share.
 *
 * @example
 * const { keys, moreDue } = await readDue(repository, clock(), 5000);
 */
export async function readDue(
  repository: Pick<TokenRepository, 'queryDue' | 'dueShards'>,
  now: number,
  maxKeys: number,
): Promise<{ keys: DueKey[]; moreDue: boolean }> {
  const perShard = Math.max(1, Math.ceil(maxKeys / repository.dueShards));
  const shards = Array.from({ length: repository.dueShards }, (_, shard) => shard);
  const pages = await Promise.all(
    shards.map(async (shard) => {
      const found: DueKey[] = [];
      let cursor: string | undefined;
      do {
        const page = await repository.queryDue(shard, now, { limit: Math.min(1000, perShard - found.length), cursor });
        found.push(...page.keys);
        cursor = page.cursor;
      } while (cursor !== undefined && found.length < perShard);
      // DynamoDB hands out a cursor whenever a page is full, even if nothing follows: look once.
      const more =
        cursor !== undefined && (await repository.queryDue(shard, now, { limit: 1, cursor })).keys.length > 0;
      return { found, more };
    }),
  );
  const keys = pages.flatMap((p) => p.found).sort((a, b) => a.dueAt - b.dueAt);
  return { keys, moreDue: pages.some((p) => p.more) };
}
