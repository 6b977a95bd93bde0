import { StringParameter } from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { DEFAULT_PARAMETER_PREFIX, type PARAMETER_NAMES, parameterName } from '#shared/consumer/cdk/parameters.js';

export interface ConsumerParametersProps {
  /** @default DEFAULT_PARAMETER_PREFIX ('/bitrix24-token-service') */
  readonly prefix?: string;
  readonly tableName: string;
  readonly tableArn: string;
  readonly tableKeyArn: string;
  readonly vendorFunctionArn: string;
}

/**
 * Publishes what a consumer in another CDK app needs (SSM String parameters in this account and
 * region): the token table's name and ARN, its key's ARN and the token vendor's ARN. The package's
 * `TokenConsumerAccess.fromParameters` reads them; none of them is a secret.
 *
 * @example
 * new ConsumerParameters(this, 'ConsumerParameters', { tableName, tableArn, tableKeyArn, vendorFunctionArn });
 */
export class ConsumerParameters extends Construct {
  readonly prefix: string;
  readonly parameters: Readonly<Record<keyof typeof PARAMETER_NAMES, StringParameter>>;

  constructor(scope: Construct, id: string, props: ConsumerParametersProps) {
    super(scope, id);
    this.prefix = props.prefix ?? DEFAULT_PARAMETER_PREFIX;
    const publish = (name: keyof typeof PARAMETER_NAMES, value: string, description: string) =>
      new StringParameter(this, name.charAt(0).toUpperCase() + name.slice(1), {
        parameterName: parameterName(this.prefix, name),
        stringValue: value,
        description,
      });
    this.parameters = {
      tableName: publish('tableName', props.tableName, 'Bitrix24 token table: name (for consumers)'),
      tableArn: publish('tableArn', props.tableArn, 'Bitrix24 token table: ARN (for consumers)'),
      tableKeyArn: publish('tableKeyArn', props.tableKeyArn, 'KMS key of the Bitrix24 token table (for consumers)'),
      vendorFunctionArn: publish(
        'vendorFunctionArn',
        props.vendorFunctionArn,
        'Bitrix24 token vendor function: ARN (for consumers)',
      ),
    };
  }
}
