/**
 * `@bitrix24-token-service/consumer/cdk`: what another CDK app needs to make its Lambdas consumers of
 * the token service (docs/CONSUMERS.md §1).
 *
 * @example
 * import { TokenConsumerAccess } from '@bitrix24-token-service/consumer/cdk';
 * TokenConsumerAccess.fromParameters(this, 'Bitrix24Tokens').bind(myFunction);
 */
export { DEFAULT_PARAMETER_PREFIX, PARAMETER_NAMES, type PublishedValue, parameterName } from './parameters.js';
export {
  type ConsumerTuning,
  type FromParametersProps,
  READER_ACTIONS,
  TokenConsumerAccess,
  type TokenConsumerAccessProps,
} from './token-consumer-access.js';
