/**
 * Where the token service publishes what a consumer needs (SSM String parameters in its account and
 * region), and where `TokenConsumerAccess.fromParameters` finds it: one definition for both sides.
 */

/** The prefix the service stack publishes under unless told otherwise. */
export const DEFAULT_PARAMETER_PREFIX = '/bitrix24-token-service';

/** The parameters under the prefix, by what they hold. */
export const PARAMETER_NAMES = {
  tableName: 'consumer/table-name',
  tableArn: 'consumer/table-arn',
  tableKeyArn: 'consumer/table-key-arn',
  vendorFunctionArn: 'consumer/vendor-function-arn',
} as const;

export type PublishedValue = keyof typeof PARAMETER_NAMES;

/** The full parameter name of `value` under `prefix` (`/bitrix24-token-service/consumer/table-name`). */
export function parameterName(prefix: string, value: PublishedValue): string {
  return `${prefix.replace(/\/+$/, '')}/${PARAMETER_NAMES[value]}`;
}
