import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Installation } from '#shared/core/domain/token-set.js';
import type {
  HistorySummary,
  PortalListing,
  PortalSummaryPage,
  TokenSummary,
} from '#shared/core/ports/portal-listing.js';
import { historyFromItem, installationFromItem, SUMMARY_ATTRIBUTES, tokenSummaryFromItem } from './codec.js';
import { type AnyDynamoDbClient, documentClientOf } from './item-reader.js';
import { decodeCursor, encodeCursor } from './paging.js';
import { keys } from './table-schema.js';

/**
 * `PortalListing` on the token table: every portal's installation and token sets for operator views,
 * read with an allow-listed projection (`SUMMARY_ATTRIBUTES`), so no token ever leaves the table on
 * this path. A full list must visit every item (the statuses that need a person are the ones the
 * sparse due index leaves out): a paginated Scan, never on a request path.
 *
 * @example
 * const listing = new DynamoDbPortalListing({ client: documentClient, tableName: 'tokens' });
 * const page = await listing.listPortalSummaries({ limit: 500 });
 */
export class DynamoDbPortalListing implements PortalListing {
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;

  constructor(options: { readonly client: AnyDynamoDbClient; readonly tableName: string }) {
    this.doc = documentClientOf(options.client);
    this.table = options.tableName;
  }

  async listPortalSummaries(options: { cursor?: string | undefined; limit?: number } = {}): Promise<PortalSummaryPage> {
    // DynamoDB bills the whole items it reads, but no token is ever returned to (or held by) the caller.
    const { Items, LastEvaluatedKey, ScannedCount } = await this.doc.send(
      new ScanCommand({
        TableName: this.table,
        Limit: options.limit ?? 500,
        FilterExpression: 'begins_with(#pk, :portal)',
        ProjectionExpression: SUMMARY_ATTRIBUTES.map((name) => `#${name}`).join(', '),
        ExpressionAttributeNames: Object.fromEntries(SUMMARY_ATTRIBUTES.map((name) => [`#${name}`, name])),
        ExpressionAttributeValues: { ':portal': keys.portalPk('') },
        ExclusiveStartKey: decodeCursor(options.cursor),
      }),
    );
    const installations: Installation[] = [];
    const tokenSets: TokenSummary[] = [];
    const histories: HistorySummary[] = [];
    for (const item of Items ?? []) {
      const sk = String(item.sk);
      if (sk === keys.installationSk) installations.push(installationFromItem(item));
      else if (sk.startsWith(keys.tokenSkPrefix)) tokenSets.push(tokenSummaryFromItem(item));
      else if (sk.startsWith(keys.historySkPrefix)) {
        const { memberId, userId, entries } = historyFromItem(item);
        histories.push({ memberId, userId, entries });
      }
    }
    return {
      installations,
      tokenSets,
      histories,
      scanned: ScannedCount ?? 0,
      cursor: encodeCursor(LastEvaluatedKey),
    };
  }
}
