import { Stack } from 'aws-cdk-lib';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { StringParameter } from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { CONSUMER_READABLE_ATTRIBUTES, keys } from '#shared/adapters/dynamodb/table-schema.js';
import { CONSUMER_RESOURCE_VARIABLES, type CONSUMER_TUNING } from '#shared/consumer/settings.js';
import { DEFAULT_PARAMETER_PREFIX, type PublishedValue, parameterName } from './parameters.js';

/** Tuning of the library in the bound functions (`CONSUMER_*`, `BITRIX_REST_*`), as environment strings. */
export type ConsumerTuning = Partial<Record<keyof typeof CONSUMER_TUNING, string>>;

export interface TokenConsumerAccessProps {
  /** Name of the token table (the library's `BITRIX24_TOKEN_TABLE`). */
  readonly tableName: string;
  /** ARN of the token table. */
  readonly tableArn: string;
  /** ARN of the KMS key the table is encrypted with. */
  readonly tableKeyArn: string;
  /** ARN of the token vendor function (the library's `BITRIX24_TOKEN_VENDOR`). */
  readonly vendorFunctionArn: string;
  /** Library tuning set on every bound function. @default {} (the library's defaults) */
  readonly tuning?: ConsumerTuning;
}

export interface FromParametersProps {
  /** Where the service stack published its values. @default DEFAULT_PARAMETER_PREFIX ('/bitrix24-token-service') */
  readonly parameterPrefix?: string;
  /** @default {} */
  readonly tuning?: ConsumerTuning;
}

/** The actions a reader needs: `GetItem` and `Query` (the library's reads), nothing that writes. */
export const READER_ACTIONS = ['dynamodb:GetItem', 'dynamodb:Query'] as const;

/**
 * Lets Lambdas of any CDK app use the token service as consumers: readers of the token table, callers
 * of its token vendor. `bind(fn)` grants exactly that and sets the library's environment:
 *
 * - `dynamodb:GetItem` and `dynamodb:Query` on the token table, only for `PORTAL#…` partitions
 *   (`dynamodb:LeadingKeys`), only of the attributes a consumer may read (`dynamodb:Attributes` with
 *   `dynamodb:Select = SPECIFIC_ATTRIBUTES`: the refresh token, the lease and parked pairs cannot be
 *   read); no write of any kind, no index;
 * - `kms:Decrypt` on the table's key, only through DynamoDB (`kms:ViaService`);
 * - `lambda:InvokeFunction` on the token vendor, nothing else;
 * - no secret, no EventBridge.
 *
 * The values come from the service stack: as props (same app), or from the SSM parameters it publishes
 * in the account and region (`fromParameters`, another app).
 *
 * @example
 * const tokens = TokenConsumerAccess.fromParameters(this, 'Bitrix24Tokens');
 * tokens.bind(syncLeads); // a NodejsFunction of yours
 */
export class TokenConsumerAccess extends Construct {
  /** The library's environment for the bound functions. */
  readonly environment: Readonly<Record<string, string>>;
  private readonly props: TokenConsumerAccessProps;

  /** The values the service stack published as SSM parameters (resolved at deploy time). */
  static fromParameters(scope: Construct, id: string, props: FromParametersProps = {}): TokenConsumerAccess {
    const prefix = props.parameterPrefix ?? DEFAULT_PARAMETER_PREFIX;
    const value = (name: PublishedValue) => StringParameter.valueForStringParameter(scope, parameterName(prefix, name));
    return new TokenConsumerAccess(scope, id, {
      tableName: value('tableName'),
      tableArn: value('tableArn'),
      tableKeyArn: value('tableKeyArn'),
      vendorFunctionArn: value('vendorFunctionArn'),
      tuning: props.tuning,
    });
  }

  constructor(scope: Construct, id: string, props: TokenConsumerAccessProps) {
    super(scope, id);
    this.props = props;
    this.environment = Object.freeze({
      ...props.tuning,
      [CONSUMER_RESOURCE_VARIABLES.table]: props.tableName,
      [CONSUMER_RESOURCE_VARIABLES.vendor]: props.vendorFunctionArn,
    });
  }

  /** Grants the reader permissions and sets the library's environment on `fn`. */
  bind(fn: LambdaFunction): void {
    for (const [name, value] of Object.entries(this.environment)) fn.addEnvironment(name, value);
    this.grant(fn);
  }

  /** Only the permissions (for a role that is not a Lambda function's, e.g. a container task's). */
  grant(grantee: IGrantable): Grant {
    const region = Stack.of(this).region;
    const read = Grant.addToPrincipal({
      grantee,
      actions: [...READER_ACTIONS],
      resourceArns: [this.props.tableArn],
      conditions: {
        'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [keys.portalPk('*')] },
        'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...CONSUMER_READABLE_ATTRIBUTES] },
        StringEqualsIfExists: { 'dynamodb:Select': 'SPECIFIC_ATTRIBUTES' },
      },
    });
    const decrypt = Grant.addToPrincipal({
      grantee,
      actions: ['kms:Decrypt'],
      resourceArns: [this.props.tableKeyArn],
      // DynamoDB decrypts with the caller's permission; direct KMS calls get nothing.
      conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${region}.amazonaws.com` } },
    });
    const invoke = Grant.addToPrincipal({
      grantee,
      actions: ['lambda:InvokeFunction'],
      resourceArns: [this.props.vendorFunctionArn],
    });
    return read.combine(decrypt).combine(invoke);
  }
}
