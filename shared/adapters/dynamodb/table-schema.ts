/**
 * The token table's keys and indexes: the one definition that both the CDK construct and the local
 * DynamoDB server use, so tests run against the same shape that is deployed.
 *
 * Items (see docs/DATA-MODEL.md):
 * - installation  pk `PORTAL#{memberId}`  sk `INSTALLATION`
 * - token set     pk `PORTAL#{memberId}`  sk `TOKEN#{userId}`   (in the due index while refreshable)
 * - its history   pk `PORTAL#{memberId}`  sk `HISTORY#{userId}` (the status page's timeline)
 * - OAuth state   pk `STATE#{state}`      sk `STATE`            (TTL)
 * - recovery pair pk `PORTAL#{memberId}`  sk `RECOVERY#{userId}#{hash of the spent refresh token}` (TTL)
 * - parked claim  pk `LIFECYCLE#{memberId}` sk `PARKED#{id}`   (TTL; in the due index under `PARKED#{n}`)
 * - receipt       pk `LIFECYCLE#{memberId}` sk `RECEIPT#{id}`  (TTL)
 * - credentials   pk `APP#CREDENTIALS`    sk `HEALTH`           (when our client credentials were last accepted)
 */
export const TABLE_SCHEMA = {
  partitionKey: 'pk',
  sortKey: 'sk',
  /** Epoch seconds; DynamoDB deletes the item some time (up to ~48 h) after it. Never used as a timer. */
  timeToLiveAttribute: 'ttl',
  dueIndex: {
    name: 'due',
    /** `DUE#{n}`: n = hash(memberId, userId) mod shard count, so the sweep scales past one partition. */
    partitionKey: 'dueShard',
    /** When the sweep should refresh (EpochMs). */
    sortKey: 'dueAt',
  },
} as const;

export const keys = {
  portalPk: (memberId: string): string => `PORTAL#${memberId}`,
  installationSk: 'INSTALLATION',
  tokenSk: (userId: number): string => `TOKEN#${userId}`,
  tokenSkPrefix: 'TOKEN#',
  /**
   * A token set's history entries, apart from the token set so that the token set stays within one
   * write unit (docs/DATA-MODEL.md); written when the timeline changes shape, never by a routine refresh.
   */
  historySk: (userId: number): string => `HISTORY#${userId}`,
  historySkPrefix: 'HISTORY#',
  /**
   * A refreshed pair whose write failed, kept for the refresh path to apply (docs/REFRESH.md), keyed by
   * a hash of the refresh token it was obtained with: one slot per spent token, never shared.
   */
  recoverySk: (userId: number, usedRefreshTokenHash: string): string => `RECOVERY#${userId}#${usedRefreshTokenHash}`,
  recoverySkPrefix: 'RECOVERY#',
  statePk: (state: string): string => `STATE#${state}`,
  stateSk: 'STATE',
  dueShard: (shard: number): string => `${keys.dueShardPrefix}${shard}`,
  dueShardPrefix: 'DUE#',
  /** Parked install claims and receipts of finished ones (docs/LIFECYCLE.md). */
  lifecyclePk: (memberId: string): string => `LIFECYCLE#${memberId}`,
  parkedSk: (id: string): string => `PARKED#${id}`,
  parkedSkPrefix: 'PARKED#',
  receiptSk: (id: string): string => `RECEIPT#${id}`,
  /** Items about the app itself; one so far: when our client credentials were last accepted. */
  appPkPrefix: 'APP#',
  credentialsPk: 'APP#CREDENTIALS',
  credentialsSk: 'HEALTH',
  /** Due-index shard of parked claims: its own prefix, so the token sweep never sees them. */
  parkedShard: (shard: number): string => `${keys.parkedShardPrefix}${shard}`,
  parkedShardPrefix: 'PARKED#',
} as const;

/**
 * The table's stream carries keys only (no token ever leaves the table through it). One consumer
 * reads it: process-parked-events, for claims parked on receipt (docs/LIFECYCLE.md).
 */
export const TABLE_STREAM_VIEW = 'KEYS_ONLY' as const;

/**
 * Lambda event filter (the pattern syntax of event source mappings) that lets through only newly
 * parked install claims. The CDK construct deploys it; the local stream reader applies the same.
 */
export const PARKED_CLAIM_STREAM_FILTER = {
  eventName: ['INSERT'],
  dynamodb: { Keys: { [TABLE_SCHEMA.sortKey]: { S: [{ prefix: keys.parkedSkPrefix }] } } },
} as const;

/**
 * The only attributes a consumer may read, and only of `PORTAL#…` items: what `getAccessToken` needs of
 * a token set (the access token, its expiry and version, where to use it, its status, the sweep's next
 * refresh and the last record of use) and of an installation (its status and installing user). The consumer grant allows
 * these and nothing else (`dynamodb:Attributes`, with `dynamodb:Select = SPECIFIC_ATTRIBUTES`), so the
 * refresh token, the lease, failure records and parked pairs stay unreadable to consumers; the consumer
 * library projects exactly these.
 */
export const CONSUMER_READABLE_ATTRIBUTES = [
  TABLE_SCHEMA.partitionKey,
  TABLE_SCHEMA.sortKey,
  'memberId',
  'userId',
  'accessToken',
  'accessExpiresAt',
  'clientEndpoint',
  'domain',
  'status',
  'version',
  TABLE_SCHEMA.dueIndex.sortKey,
  'lastUsedAt',
  'installedBy',
] as const;

/** The CreateTable input for a local server or a test (on-demand billing, same keys, index and stream). */
export function createTableInput(tableName: string) {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: [
      { AttributeName: TABLE_SCHEMA.partitionKey, AttributeType: 'S' as const },
      { AttributeName: TABLE_SCHEMA.sortKey, AttributeType: 'S' as const },
      { AttributeName: TABLE_SCHEMA.dueIndex.partitionKey, AttributeType: 'S' as const },
      { AttributeName: TABLE_SCHEMA.dueIndex.sortKey, AttributeType: 'N' as const },
    ],
    KeySchema: [
      { AttributeName: TABLE_SCHEMA.partitionKey, KeyType: 'HASH' as const },
      { AttributeName: TABLE_SCHEMA.sortKey, KeyType: 'RANGE' as const },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: TABLE_SCHEMA.dueIndex.name,
        KeySchema: [
          { AttributeName: TABLE_SCHEMA.dueIndex.partitionKey, KeyType: 'HASH' as const },
          { AttributeName: TABLE_SCHEMA.dueIndex.sortKey, KeyType: 'RANGE' as const },
        ],
        // The sweep needs only the key to lease it; the lease read is consistent anyway.
        Projection: { ProjectionType: 'KEYS_ONLY' as const },
      },
    ],
    StreamSpecification: { StreamEnabled: true, StreamViewType: TABLE_STREAM_VIEW },
  };
}
