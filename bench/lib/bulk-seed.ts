import { randomBytes } from 'node:crypto';
import { BatchWriteCommand, DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { keys, TABLE_SCHEMA } from '#shared/adapters/dynamodb/table-schema.js';
import { dueShardOf } from '#shared/core/domain/due-shard.js';
import { DAY, HOUR } from '#shared/core/domain/time.js';
import { mapConcurrent } from './stats.js';
import type { World } from './world.js';

type Item = Record<string, unknown>;

/**
 * Fills the table with `count` installations (installation item + token set of user 1) that are in the
 * due index but not due, fast: one installation is written through the repository
 * (`saveInstallation`, `storeNewChain`), read back as stored, and cloned with BatchWrite under new
 * member ids, tokens and due times. The clones have exactly the shape the repository writes; a sample
 * is read back through the repository to prove it. Their tokens are random (never sent anywhere).
 *
 * @returns how long it took, in ms
 */
export async function bulkSeedInstallations(
  world: World,
  count: number,
  options: { dueFrom: number; dueSpreadMs: number; concurrency?: number },
): Promise<number> {
  const started = performance.now();
  const doc = DynamoDBDocumentClient.from(world.dynamodb.client);
  const now = world.clock();
  const template = randomBytes(16).toString('hex');
  const endpoint = `https://bulk-${template.slice(0, 8)}.bitrix24.com/rest/`;
  await world.repository.saveInstallation(
    {
      memberId: template,
      domain: new URL(endpoint).host,
      clientEndpoint: endpoint,
      serverEndpoint: 'https://oauth.bitrix.info/rest/',
      status: 'active',
      installedBy: 1,
      installedAt: now,
      now,
    },
    null,
  );
  await world.repository.storeNewChain(
    {
      accessToken: randomBytes(35).toString('hex'),
      refreshToken: randomBytes(35).toString('hex'),
      accessExpiresAt: now + HOUR,
      refreshIssuedAt: now,
      memberId: template,
      userId: 1,
      clientEndpoint: endpoint,
      serverEndpoint: 'https://oauth.bitrix.info/rest/',
      scope: 'crm,user_brief,placement',
      appStatus: 'L',
      source: 'install_event',
      refreshExpiresAt: now + 30 * DAY,
      nextRefreshAt: options.dueFrom,
      now,
    },
    null,
  );
  const read = async (sk: string): Promise<Item> => {
    const { Item } = await doc.send(
      new GetCommand({ TableName: world.tableName, Key: { pk: keys.portalPk(template), sk }, ConsistentRead: true }),
    );
    if (Item === undefined) throw new Error('template item missing');
    return Item;
  };
  const installation = await read(keys.installationSk);
  const tokenSet = await read(keys.tokenSk(1));

  const items: Item[] = [];
  const clones: string[] = [];
  for (let i = 1; i < count; i += 1) {
    const memberId = randomBytes(16).toString('hex');
    const domain = `bulk-${memberId.slice(0, 12)}.bitrix24.com`;
    const clientEndpoint = `https://${domain}/rest/`;
    const pk = keys.portalPk(memberId);
    items.push({ ...installation, pk, memberId, domain, clientEndpoint });
    items.push({
      ...tokenSet,
      pk,
      memberId,
      domain,
      clientEndpoint,
      accessToken: randomBytes(35).toString('hex'),
      refreshToken: randomBytes(35).toString('hex'),
      [TABLE_SCHEMA.dueIndex.partitionKey]: keys.dueShard(dueShardOf({ memberId, userId: 1 }, world.config.DUE_SHARDS)),
      [TABLE_SCHEMA.dueIndex.sortKey]: Math.round(options.dueFrom + (i / count) * options.dueSpreadMs),
    });
    if (i % Math.max(1, Math.floor(count / 3)) === 0) clones.push(memberId);
  }
  const batches: Item[][] = [];
  for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
  await mapConcurrent(batches, options.concurrency ?? 8, async (batch) => {
    let pending: Record<string, { PutRequest: { Item: Item } }[]> = {
      [world.tableName]: batch.map((Item) => ({ PutRequest: { Item } })),
    };
    for (let attempt = 0; Object.keys(pending).length > 0; attempt += 1) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 25 * 2 ** attempt)));
      const { UnprocessedItems } = await doc.send(new BatchWriteCommand({ RequestItems: pending }));
      pending = (UnprocessedItems ?? {}) as typeof pending;
    }
  });
  // The clones must read back as what the repository stores, or the figures would be about other items.
  for (const memberId of clones) {
    const stored = await world.repository.getTokenSet({ memberId, userId: 1 });
    const storedInstallation = await world.repository.getInstallation(memberId);
    if (stored?.status !== 'active' || stored.nextRefreshAt === undefined || storedInstallation?.status !== 'active') {
      throw new Error('a bulk-seeded installation does not read back as a stored one');
    }
  }
  return performance.now() - started;
}
