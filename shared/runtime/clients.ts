import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { once } from '#shared/core/domain/once.js';

/** Where the SDK clients go and as whom. Everything omitted comes from the SDK's own defaults. */
export interface AwsClientSettings {
  readonly region?: string | undefined;
  /** Static credentials (local servers take any); omitted: the SDK's default provider chain. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string } | undefined;
  /** Service endpoints (DynamoDB Local, a local Secrets Manager); omitted: AWS (or `AWS_ENDPOINT_URL_*`). */
  readonly endpoints?: {
    readonly dynamodb?: string | undefined;
    readonly secretsManager?: string | undefined;
    readonly eventBridge?: string | undefined;
    readonly sqs?: string | undefined;
  };
  /**
   * DynamoDB's time limits. A call must end well inside the refresh lease: a write that hangs longer
   * than the lease could land after another worker took over. @default the SDK's (no request timeout)
   */
  readonly dynamoDb?: DynamoDbClientLimits | undefined;
}

/** How long one DynamoDB call may take, and how often the SDK tries it. */
export interface DynamoDbClientLimits {
  /** Whole request, from sending to the last byte of the answer. */
  readonly requestTimeoutMs: number;
  /** Establishing the connection. */
  readonly connectionTimeoutMs: number;
  /** Attempts per call, the first included (the SDK retries throttling, 5xx and network errors). */
  readonly maxAttempts: number;
}

/** The SDK clients the service uses, each created on first use. */
export interface AwsClients {
  readonly dynamoDb: DynamoDBClient;
  /** Marshals plain objects; every DynamoDB adapter works through it. */
  readonly documents: DynamoDBDocumentClient;
  /** Token-status notifications (`PutEvents`). */
  readonly eventBridge: EventBridgeClient;
  readonly secretsManager: SecretsManagerClient;
}

/**
 * SDK clients for `settings`, built lazily: a function that never publishes a notification never
 * builds the EventBridge client.
 *
 * @example
 * const clients = createAwsClients({ region: 'us-east-1', endpoints: { dynamodb: 'http://127.0.0.1:8000' } });
 */
export function createAwsClients(settings: AwsClientSettings = {}): AwsClients {
  const base = {
    ...(settings.region === undefined ? {} : { region: settings.region }),
    ...(settings.credentials === undefined ? {} : { credentials: { ...settings.credentials } }),
  };
  const endpoint = (url: string | undefined) => (url === undefined ? {} : { endpoint: url });
  const limits = settings.dynamoDb;
  const dynamoDb = once(
    () =>
      new DynamoDBClient({
        ...base,
        ...endpoint(settings.endpoints?.dynamodb),
        ...(limits === undefined
          ? {}
          : {
              maxAttempts: limits.maxAttempts,
              requestHandler: {
                requestTimeout: limits.requestTimeoutMs,
                connectionTimeout: limits.connectionTimeoutMs,
                // Without it the SDK only logs a warning when the request timeout passes and keeps waiting.
                throwOnRequestTimeout: true,
              },
            }),
      }),
  );
  const documents = once(() => DynamoDBDocumentClient.from(dynamoDb()));
  const eventBridge = once(() => new EventBridgeClient({ ...base, ...endpoint(settings.endpoints?.eventBridge) }));
  const secretsManager = once(
    () => new SecretsManagerClient({ ...base, ...endpoint(settings.endpoints?.secretsManager) }),
  );
  return {
    get dynamoDb() {
      return dynamoDb();
    },
    get documents() {
      return documents();
    },
    get eventBridge() {
      return eventBridge();
    },
    get secretsManager() {
      return secretsManager();
    },
  };
}

/**
 * The settings an environment record describes, for processes that point the service at servers named
 * in a record other than their own environment (the operator CLI reading a local service's
 * descriptor): region, static credentials and the standard `AWS_ENDPOINT_URL_*` variables.
 */
export function awsClientSettingsFromEnv(env: Readonly<Record<string, string | undefined>>): AwsClientSettings {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  return {
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION,
    credentials:
      accessKeyId !== undefined && secretAccessKey !== undefined ? { accessKeyId, secretAccessKey } : undefined,
    endpoints: {
      dynamodb: env.AWS_ENDPOINT_URL_DYNAMODB ?? env.AWS_ENDPOINT_URL,
      secretsManager: env.AWS_ENDPOINT_URL_SECRETS_MANAGER ?? env.AWS_ENDPOINT_URL,
      eventBridge: env.AWS_ENDPOINT_URL_EVENTBRIDGE ?? env.AWS_ENDPOINT_URL,
      sqs: env.AWS_ENDPOINT_URL_SQS ?? env.AWS_ENDPOINT_URL,
    },
  };
}
