import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import {
  type Attribute,
  AttributeType,
  BillingMode,
  ProjectionType,
  Table,
  TableEncryption,
} from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { type IKey, Key } from 'aws-cdk-lib/aws-kms';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { createTableInput, keys, TABLE_SCHEMA } from '#shared/adapters/dynamodb/table-schema.js';

/**
 * What a function may do with the token table: `read`, `readWrite` (the service's own writers),
 * `refreshPath` (the token vendor: the one refresh path on portal items), `oauthStates` (only create
 * OAuth `state` items). Consumers are readers with a grant of their own (`TokenConsumerAccess`).
 */
export type TokenAccess = 'read' | 'readWrite' | 'refreshPath' | 'oauthStates';

/** What the code calls (no batch-get, no transactions: the grants follow the adapters). */
const READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:Query'];
/**
 * BatchWriteItem: deleting a portal's items on a clean uninstall. ConditionCheckItem: parking a
 * refreshed pair checks, in the same transaction, that its token set still holds the spent token.
 */
const WRITE_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:ConditionCheckItem',
];
/** Reads, conditional updates, and put/delete for the refresh path's recovery record. No batch writes. */
const REFRESH_PATH_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:Query',
  'dynamodb:UpdateItem',
  'dynamodb:PutItem',
  'dynamodb:DeleteItem',
  'dynamodb:ConditionCheckItem',
];
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
 * Grants are scoped to this table and its one index, and to the key through DynamoDB only.
 *
 * @example
 * const tokens = new TokenTable(this, 'Tokens');
 * tokens.bind(refreshFunction, 'readWrite');
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

  /** Get and query the table and its index. */
  grantReadTokens(grantee: IGrantable): Grant {
    this.grantKey(grantee, KEY_READ_ACTIONS);
    return Grant.addToPrincipal({
      grantee,
      actions: READ_ACTIONS,
      resourceArns: [this.table.tableArn, this.dueIndexArn],
    });
  }

  /** Everything the service's own functions do: read, put, update, delete, batch-write. */
  grantReadWriteTokens(grantee: IGrantable): Grant {
    this.grantKey(grantee, KEY_WRITE_ACTIONS);
    return Grant.addToPrincipal({
      grantee,
      actions: [...READ_ACTIONS, ...WRITE_ACTIONS],
      resourceArns: [this.table.tableArn, this.dueIndexArn],
    });
  }

  /**
   * What the token vendor needs, and no more: read portal items (installation, token sets) and write
   * them through the one refresh path (the refresh lease, the fenced write of a refreshed pair,
   * `lastUsedAt`, a renamed portal's address: conditional updates; and the recovery record of a
   * refreshed pair whose write failed: put and conditional delete). Only items under `PORTAL#…`
   * partition keys: it can neither read nor write OAuth states or parked claims, and cannot read the
   * due index.
   */
  grantRefreshPath(grantee: IGrantable): Grant {
    this.grantKey(grantee, KEY_WRITE_ACTIONS);
    return Grant.addToPrincipal({
      grantee,
      actions: [...REFRESH_PATH_ACTIONS],
      resourceArns: [this.table.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [keys.portalPk('*')] } },
    });
  }

  /**
   * Only `PutItem` of OAuth `state` items (`STATE#…` partition keys): all the public start of the
   * code flow writes. It cannot read or touch a token.
   */
  grantPutOAuthStates(grantee: IGrantable): Grant {
    this.grantKey(grantee, KEY_WRITE_ACTIONS);
    return Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:PutItem'],
      resourceArns: [this.table.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [keys.statePk('*')] } },
    });
  }

  /** Grants `access` and sets the table name variable. */
  bind(fn: LambdaFunction, access: TokenAccess): void {
    fn.addEnvironment(this.envName, this.table.tableName);
    switch (access) {
      case 'read':
        this.grantReadTokens(fn);
        return;
      case 'readWrite':
        this.grantReadWriteTokens(fn);
        return;
      case 'refreshPath':
        this.grantRefreshPath(fn);
        return;
      case 'oauthStates':
        this.grantPutOAuthStates(fn);
        return;
    }
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
