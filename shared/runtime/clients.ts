import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * SDK clients, created once per execution environment. Endpoints come from the standard
 * `AWS_ENDPOINT_URL_*` variables, so the same code reaches AWS or a local server.
 */
export const dynamoDbClient = new DynamoDBClient({});
export const documentClient = DynamoDBDocumentClient.from(dynamoDbClient);
/** Token-status notifications (`PutEvents`); only used when `EVENT_BUS_NAME` is set. */
export const eventBridgeClient = new EventBridgeClient({});
