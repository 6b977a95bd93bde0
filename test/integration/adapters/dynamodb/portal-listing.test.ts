import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbPortalListing } from '#shared/adapters/dynamodb/portal-listing.js';
import { DynamoDbTokenRepository } from '#shared/adapters/dynamodb/token-repository.js';
import { DAY } from '#shared/core/domain/time.js';
import { memberId, newChain } from '#test/helpers/builders/fixtures.js';
import { createTestTable, type TestTable } from '#test/helpers/harnesses/table.js';

let table: TestTable;
let repo: DynamoDbTokenRepository;
let listing: DynamoDbPortalListing;

beforeAll(async () => {
  table = await createTestTable('listing');
  repo = new DynamoDbTokenRepository({ client: table.client, tableName: table.tableName });
  listing = new DynamoDbPortalListing({ client: table.client, tableName: table.tableName });
});
afterAll(async () => {
  await table.drop();
});

async function readAll(limit: number) {
  const pages = [];
  let cursor: string | undefined;
  do {
    const page = await listing.listPortalSummaries({ cursor, limit });
    pages.push(page);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return pages;
}

describe('DynamoDbPortalListing (DynamoDB Local)', () => {
  it('returns installations and token sets page by page, never a token, and skips other items', async () => {
    // Prepare
    const now = Date.now();
    const chains = [newChain(), newChain(), newChain({ userId: 7 })];
    for (const chain of chains) await repo.storeNewChain(chain, null);
    const first = chains[0];
    if (first === undefined) throw new Error('fixture');
    await repo.saveInstallation(
      {
        memberId: first.memberId,
        domain: 'alpha.bitrix24.com',
        clientEndpoint: 'https://alpha.bitrix24.com/rest/',
        serverEndpoint: 'https://oauth.bitrix.info/rest/',
        status: 'active',
        applicationTokenHash: 'f'.repeat(64),
        installedAt: now,
        now,
      },
      null,
    );
    const uninstalled = memberId();
    await repo.saveInstallation(
      {
        memberId: uninstalled,
        domain: 'gone.bitrix24.com',
        clientEndpoint: 'https://gone.bitrix24.com/rest/',
        serverEndpoint: 'https://oauth.bitrix.info/rest/',
        status: 'uninstalled',
        installedAt: now - DAY,
        uninstalledAt: now,
        now,
      },
      null,
    );
    // An OAuth state item: not a portal, must not show up.
    await DynamoDBDocumentClient.from(table.client).send(
      new PutCommand({ TableName: table.tableName, Item: { pk: 'STATE#abc', sk: 'STATE', portal: 'x.bitrix24.com' } }),
    );

    // Act
    const pages = await readAll(2);

    // Assess
    expect(pages.length).toBeGreaterThan(1);
    const tokenSets = pages.flatMap((p) => p.tokenSets);
    const installations = pages.flatMap((p) => p.installations);
    expect(tokenSets.map((t) => `${t.memberId}#${t.userId}`).sort()).toEqual(
      chains.map((c) => `${c.memberId}#${c.userId}`).sort(),
    );
    expect(installations.map((i) => i.memberId).sort()).toEqual([first.memberId, uninstalled].sort());
    expect(pages.reduce((sum, p) => sum + p.scanned, 0)).toBe(6);
    const text = JSON.stringify(pages);
    for (const chain of chains) {
      expect(text).not.toContain(chain.accessToken);
      expect(text).not.toContain(chain.refreshToken);
    }
    expect(text).not.toContain('f'.repeat(64));
    expect(tokenSets[0]).not.toHaveProperty('accessToken');
    expect(tokenSets.find((t) => t.memberId === first.memberId)?.nextRefreshAt).toBe(first.nextRefreshAt);
  });
});
