import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import {
  type Attribute,
  AttributeType,
  BillingMode,
  type CfnTable,
  ProjectionType,
  StreamViewType,
  Table,
  TableEncryption,
} from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { type IKey, Key } from 'aws-cdk-lib/aws-kms';
import { EventSourceMapping, type Function as LambdaFunction, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  createTableInput,
  keys,
  PARKED_CLAIM_STREAM_FILTER,
  TABLE_SCHEMA,
  TABLE_STREAM_VIEW,
} from '#shared/adapters/dynamodb/table-schema.js';

/**
 * The DynamoDB actions the adapters use (no Scan, no batch reads). A transaction is allowed by the
 * actions of its items: parking a refreshed pair is a `PutItem` with a `ConditionCheckItem` on its
 * token set.
 */
export type TableAction =
  | 'GetItem'
  | 'Query'
  | 'PutItem'
  | 'UpdateItem'
  | 'DeleteItem'
  | 'BatchWriteItem'
  | 'ConditionCheckItem';

/**
 * The table's item families, by partition key (shared/adapters/dynamodb/table-schema.ts); `app` is
 * the one item about the app itself (when its credentials were last accepted).
 */
export type ItemFamily = 'portal' | 'state' | 'lifecycle' | 'app';

/** The due index's entries, by index partition key: token sets due for refresh, parked install claims. */
export type DueEntries = 'tokens' | 'parked';

/**
 * What one function may do with the token table: actions per item family, each family one IAM
 * statement scoped with `dynamodb:LeadingKeys` to its partition keys, and `Query` of the due index
 * scoped the same way to the index partition keys of its entries.
 */
export interface TableAccess {
  readonly items: Readonly<Partial<Record<ItemFamily, readonly TableAction[]>>>;
  /** @default - no access to the due index */
  readonly dueIndex?: DueEntries;
}

/** `dynamodb:LeadingKeys` patterns of the item families. */
export const ITEM_FAMILY_KEYS: Readonly<Record<ItemFamily, string>> = {
  portal: keys.portalPk('*'),
  state: keys.statePk('*'),
  lifecycle: keys.lifecyclePk('*'),
  app: `${keys.appPkPrefix}*`,
};

/** `dynamodb:LeadingKeys` patterns of due-index queries (the index's own partition key). */
export const DUE_ENTRY_KEYS: Readonly<Record<DueEntries, string>> = {
  tokens: `${keys.dueShardPrefix}*`,
  parked: `${keys.parkedShardPrefix}*`,
};

/**
 * What the token vendor needs, and no more: read portal items (installation, token sets) and write
 * them through the one refresh path (the refresh lease, the fenced write of a refreshed pair,
 * `lastUsedAt`, a renamed portal's address: conditional updates; and the recovery record of a
 * refreshed pair whose write failed: a put checked against its token set, and a conditional delete),
 * and when our credentials were last accepted (read only). No OAuth states, no parked claims, no due index, no
 * batch writes. Consumers are readers with a grant of their own (`TokenConsumerAccess`).
 */
export const REFRESH_PATH_TABLE_ACCESS: TableAccess = {
  items: {
    portal: ['GetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem', 'ConditionCheckItem'],
    // Read only: whether our credentials were accepted since an `invalid_client`; the vendor records nothing.
    app: ['GetItem'],
  },
};

const WRITES: ReadonlySet<TableAction> = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']);
/** DynamoDB decrypts the table key with the caller's credentials; writes also need to encrypt. */
const KEY_READ_ACTIONS = ['kms:Decrypt', 'kms:DescribeKey'];
const KEY_WRITE_ACTIONS = [...KEY_READ_ACTIONS, 'kms:Encrypt', 'kms:GenerateDataKey'];

/** The schema's definition, as the local server creates it: the one source of names, types and projection. */
const definition = createTableInput('schema');

function attribute(name: string): Attribute {
  const found = definition.AttributeDefinitions.find((candidate) => candidate.AttributeName === name);
  if (found === undefined) throw new Error(`table schema does not define attribute ${name}`);
  return { name, type: found.AttributeType === 'N' ? AttributeType.NUMBER : AttributeType.STRING };
}

function projection(): ProjectionType {
  const index = definition.GlobalSecondaryIndexes.find(
    (candidate) => candidate.IndexName === TABLE_SCHEMA.dueIndex.name,
  );
  switch (index?.Projection.ProjectionType) {
    case 'KEYS_ONLY':
      return ProjectionType.KEYS_ONLY;
    case undefined:
      throw new Error(`table schema does not define index ${TABLE_SCHEMA.dueIndex.name}`);
    default:
      return ProjectionType.ALL;
  }
}

export interface TokenTableProps {
  /** Key that encrypts the table. @default - a new customer-managed key with yearly rotation, retained */
  readonly encryptionKey?: IKey;
  /**
   * What happens to the table (and a key created here) when the stack is deleted. It holds customer
   * credentials, so it outlives the stack unless told otherwise.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /** Refuse `DeleteTable` even from the console, until switched off. @default true */
  readonly deletionProtection?: boolean;
  /** Name of the environment variable `bind` sets. @default 'TABLE_NAME' */
  readonly tableNameEnvironmentVariable?: string;
}

/**
 * The single token table, built from `shared/adapters/dynamodb/table-schema.ts`: on demand, point-in-time recovery,
 * encrypted with a customer-managed key, TTL on, the sparse `due` index.
 *
 * Grants are scoped to this table and its one index, to the partition keys of the item families a
 * function touches, and to the key through DynamoDB only.
 *
 * @example
 * const tokens = new TokenTable(this, 'Tokens');
 * tokens.bind(refreshFunction, { items: { portal: ['GetItem', 'UpdateItem'] }, dueIndex: 'tokens' });
 */
export class TokenTable extends Construct {
  readonly table: Table;
  readonly encryptionKey: IKey;
  private readonly envName: string;

  constructor(scope: Construct, id: string, props: TokenTableProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.envName = props.tableNameEnvironmentVariable ?? 'TABLE_NAME';
    this.encryptionKey =
      props.encryptionKey ??
      new Key(this, 'Key', {
        description: 'Encrypts the Bitrix24 token table and the client credentials secret',
        enableKeyRotation: true,
        // Retained with the table: without the key, a retained table cannot be read.
        removalPolicy,
      });
    this.table = new Table(this, 'Table', {
      partitionKey: attribute(TABLE_SCHEMA.partitionKey),
      sortKey: attribute(TABLE_SCHEMA.sortKey),
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.encryptionKey,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: TABLE_SCHEMA.timeToLiveAttribute,
      deletionProtection: props.deletionProtection ?? true,
      removalPolicy,
      // Keys only: no token leaves the table through the stream (it triggers process-parked-events).
      stream: StreamViewType[TABLE_STREAM_VIEW],
    });
    this.table.addGlobalSecondaryIndex({
      indexName: TABLE_SCHEMA.dueIndex.name,
      partitionKey: attribute(TABLE_SCHEMA.dueIndex.partitionKey),
      sortKey: attribute(TABLE_SCHEMA.dueIndex.sortKey),
      projectionType: projection(),
    });
  }

  /** ARN of the `due` index (the only index). */
  get dueIndexArn(): string {
    return `${this.table.tableArn}/index/${TABLE_SCHEMA.dueIndex.name}`;
  }

  /**
   * Grants `access`: per item family one statement of its actions on the table, limited by
   * `dynamodb:LeadingKeys` to the family's partition keys; `Query` of the due index limited to the index
   * partition keys of its entries; the table key through DynamoDB only (encrypt too when it writes).
   */
  grantTableAccess(grantee: IGrantable, access: TableAccess): void {
    const families = Object.entries(access.items) as [ItemFamily, readonly TableAction[]][];
    const actions = families.flatMap(([, granted]) => granted);
    this.grantKey(grantee, actions.some((action) => WRITES.has(action)) ? KEY_WRITE_ACTIONS : KEY_READ_ACTIONS);
    for (const [family, granted] of families) {
      Grant.addToPrincipal({
        grantee,
        actions: granted.map((action) => `dynamodb:${action}`),
        resourceArns: [this.table.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [ITEM_FAMILY_KEYS[family]] } },
      });
    }
    if (access.dueIndex !== undefined) {
      Grant.addToPrincipal({
        grantee,
        actions: ['dynamodb:Query'],
        resourceArns: [this.dueIndexArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [DUE_ENTRY_KEYS[access.dueIndex]] } },
      });
    }
  }

  /**
   * Hands newly parked install claims to `fn` from the table's stream (keys only, filtered to
   * `PARKED_CLAIM_STREAM_FILTER` so nothing else invokes it), within a second of their receipt. A batch
   * that keeps failing goes to `onFailure`; the claims stay parked, and the schedule retries them.
   */
  streamParkedClaimsTo(fn: LambdaFunction, options: { readonly onFailure: IQueue }): EventSourceMapping {
    const streamArn = this.table.tableStreamArn;
    if (streamArn === undefined) throw new Error('the token table has no stream');
    Grant.addToPrincipal({
      grantee: fn,
      actions: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
      resourceArns: [streamArn],
    });
    Grant.addToPrincipal({
      grantee: fn,
      actions: ['dynamodb:ListStreams'],
      resourceArns: [`${this.table.tableArn}/stream/*`],
    });
    if (fn.role !== undefined) {
      Validations.of(fn.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.table.node.defaultChild as CfnTable)}.Arn>/stream/*]`,
        reason:
          "dynamodb:ListStreams on this table's streams (`<table>/stream/*`): a stream's ARN ends in a label known only once it exists; reading is granted on the one stream ARN.",
      });
    }
    return new EventSourceMapping(this, 'ParkedClaims', {
      target: fn,
      eventSourceArn: streamArn,
      // New claims only: the schedule owns anything older.
      startingPosition: StartingPosition.LATEST,
      batchSize: 10,
      bisectBatchOnError: true,
      retryAttempts: 2,
      reportBatchItemFailures: true,
      filters: [{ pattern: JSON.stringify(PARKED_CLAIM_STREAM_FILTER) }],
      onFailure: new SqsDlq(options.onFailure),
    });
  }

  /** Grants `access` and sets the table name variable. */
  bind(fn: LambdaFunction, access: TableAccess): void {
    fn.addEnvironment(this.envName, this.table.tableName);
    this.grantTableAccess(fn, access);
  }

  private grantKey(grantee: IGrantable, actions: readonly string[]): void {
    Grant.addToPrincipal({
      grantee,
      actions: [...actions],
      resourceArns: [this.encryptionKey.keyArn],
      // The key serves DynamoDB on the caller's behalf, not direct KMS calls.
      conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${Stack.of(this).region}.amazonaws.com` } },
    });
  }
}
