import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CfnResource, TagManager } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ATTENTION_EVENTS } from '#infra/constructs/notifications.js';
import { DEFAULT_ROUTE_THROTTLES } from '#infra/constructs/oauth-http-api.js';
import { FUNCTIONS, type FunctionName, timeoutOf } from '#infra/function-catalog.js';
import {
  CONSUMER_READABLE_ATTRIBUTES,
  createTableInput,
  TABLE_SCHEMA,
} from '#shared/adapters/dynamodb/table-schema.js';
import { NOTIFICATION_SOURCE, TOKEN_STATUS_DETAIL_TYPE } from '#shared/adapters/eventbridge-notification-publisher.js';
import { DEFAULT_PARAMETER_PREFIX } from '#shared/consumer/cdk/parameters.js';
import { METRIC_NAMES, METRICS_NAMESPACE } from '#shared/core/ports/metrics.js';
import { appEventsTimeoutSeconds, loadConfig, vendorTimeoutSeconds } from '#shared/runtime/config.js';
import {
  actionsOf,
  arnOf,
  type BuiltStack,
  buildStack,
  logicalId,
  type Statement,
  statementsOfRole,
} from './stack-fixture.js';

let built: BuiltStack;
const NAMES = Object.keys(FUNCTIONS) as FunctionName[];
/** Functions of the service itself (the example consumer is one of the consumers). */
const SERVICE_NAMES = NAMES.filter((name) => FUNCTIONS[name].tokens !== 'consumer');

beforeAll(() => {
  // Every function of the catalog, the opt-in example included.
  built = buildStack({ exampleConsumer: true });
});

function fnOf(name: FunctionName) {
  const fn = built.stack.functions[name];
  if (fn === undefined) throw new Error(`${name} was not built`);
  return fn;
}
function fnId(name: FunctionName): string {
  return logicalId(fnOf(name));
}
function roleId(name: FunctionName): string {
  return logicalId(fnOf(name).role);
}
function environmentOf(name: FunctionName): Record<string, unknown> {
  const fn = built.template.findResources('AWS::Lambda::Function')[fnId(name)];
  return fn?.Properties.Environment.Variables ?? {};
}
function statements(name: FunctionName): Statement[] {
  return statementsOfRole(built.template, roleId(name));
}
const tableId = () => logicalId(built.stack.tokens.table);
const keyId = () => logicalId(built.stack.tokens.encryptionKey);
const busId = () => logicalId(built.stack.notifications.bus);
const secretId = () => logicalId(built.stack.credentials.secret);
const indexArn = () => ({ 'Fn::Join': ['', [arnOf(tableId()), `/index/${TABLE_SCHEMA.dueIndex.name}`]] });

describe('TokenTable', () => {
  it('has the keys, attribute types and due index of shared/adapters/dynamodb/table-schema.ts', () => {
    // Prepare
    const schema = createTableInput('any');

    // Act
    const tables = built.template.findResources('AWS::DynamoDB::Table');

    // Assess
    expect(Object.keys(tables)).toHaveLength(1);
    built.template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: schema.KeySchema,
      AttributeDefinitions: Match.arrayEquals(schema.AttributeDefinitions),
      GlobalSecondaryIndexes: [
        {
          IndexName: TABLE_SCHEMA.dueIndex.name,
          KeySchema: schema.GlobalSecondaryIndexes[0]?.KeySchema,
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ],
    });
  });

  it('is on demand, with point-in-time recovery, TTL and deletion protection', () => {
    built.template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: TABLE_SCHEMA.timeToLiveAttribute, Enabled: true },
      DeletionProtectionEnabled: true,
    });
  });

  it('is encrypted with its own customer-managed key, which rotates', () => {
    built.template.hasResourceProperties('AWS::DynamoDB::Table', {
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: arnOf(keyId()) },
    });
    expect(built.template.findResources('AWS::KMS::Key')[keyId()]?.Properties).toMatchObject({
      EnableKeyRotation: true,
    });
  });

  it('outlives the stack together with its key', () => {
    built.template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    expect(built.template.findResources('AWS::KMS::Key')[keyId()]).toMatchObject({
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });
});

describe('ClientCredentials', () => {
  it('creates one secret, encrypted with the customer-managed key, without a value in the template', () => {
    built.template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    built.template.hasResourceProperties('AWS::SecretsManager::Secret', {
      KmsKeyId: arnOf(keyId()),
      GenerateSecretString: { SecretStringTemplate: '{"clientId":""}', GenerateStringKey: 'clientSecret' },
      SecretString: Match.absent(),
    });
  });
});

describe('AppFunction', () => {
  it.each(NAMES)('%s runs Node 24 on arm64 with source maps and its own log group', (name) => {
    // Prepare
    const fn = built.template.findResources('AWS::Lambda::Function')[fnId(name)];
    const logGroupId = logicalId(fnOf(name).logGroup);

    // Assess
    expect(fn?.Properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Timeout: timeoutOf(FUNCTIONS[name], loadConfig({})).toSeconds(),
      LoggingConfig: { LogGroup: { Ref: logGroupId } },
    });
    // Source maps ship for reading stack traces; applying them at run time would slow every cold start.
    expect(environmentOf(name).NODE_OPTIONS).toBeUndefined();
    expect(environmentOf(name)).toMatchObject({
      POWERTOOLS_SERVICE_NAME: 'bitrix24-token-service',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    });
    expect(built.template.findResources('AWS::Logs::LogGroup')[logGroupId]?.Properties).toEqual({
      RetentionInDays: 30,
      Tags: expect.any(Array),
    });
  });

  it('builds exactly the nine functions of the catalog when the example consumer is asked for', () => {
    built.template.resourceCountIs('AWS::Lambda::Function', NAMES.length);
    expect(NAMES).toHaveLength(9);
  });

  it('gives the token vendor time for a lease wait and one refresh of its own: 65 s with the defaults', () => {
    // Act
    const vendor = built.template.findResources('AWS::Lambda::Function')[fnId('tokenVendor')];

    // Assess: 34 s lease wait + 8 s authorization server + 2 × 9 s DynamoDB + 5 s
    expect(vendor?.Properties.Timeout).toBe(65);
    expect(vendorTimeoutSeconds(loadConfig({ REFRESH_LEASE_SECONDS: '40' }))).toBe(75);
  });

  it('gives the event function time to prove an uninstall and store the pair: 34 s with the defaults', () => {
    // Act
    const events = built.template.findResources('AWS::Lambda::Function')[fnId('appEvents')];

    // Assess: 3 s lease wait + 8 s authorization server + 2 × 9 s DynamoDB + 5 s
    expect(events?.Properties.Timeout).toBe(34);
    expect(appEventsTimeoutSeconds(loadConfig({ BITRIX_HTTP_TIMEOUT_MS: '12000' }))).toBe(38);
  });

  it.each(NAMES)('%s writes logs only to its own log group (no AWS managed policy)', (name) => {
    // Prepare
    const logGroupId = logicalId(fnOf(name).logGroup);
    const role = built.template.findResources('AWS::IAM::Role')[roleId(name)];

    // Act
    const logStatements = statements(name).filter((s) => actionsOf(s).some((a) => a.startsWith('logs:')));

    // Assess
    expect(role?.Properties.ManagedPolicyArns).toBeUndefined();
    expect(logStatements).toEqual([
      { Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Effect: 'Allow', Resource: arnOf(logGroupId) },
    ]);
  });
});

describe('environment per function', () => {
  const expected: Record<FunctionName, string[]> = {
    oauthStart: ['TABLE_NAME'],
    oauthCallback: ['TABLE_NAME', 'CLIENT_CREDENTIALS_SECRET_ID'],
    appEvents: ['TABLE_NAME', 'CLIENT_CREDENTIALS_SECRET_ID', 'EVENT_BUS_NAME'],
    installPage: ['TABLE_NAME', 'CLIENT_CREDENTIALS_SECRET_ID', 'EVENT_BUS_NAME'],
    dispatchRefreshes: ['TABLE_NAME', 'REFRESH_QUEUE_URL', 'REFRESH_DISPATCH_INTERVAL_SECONDS'],
    refreshWorker: ['TABLE_NAME', 'CLIENT_CREDENTIALS_SECRET_ID', 'EVENT_BUS_NAME'],
    processParkedEvents: ['TABLE_NAME', 'CLIENT_CREDENTIALS_SECRET_ID', 'EVENT_BUS_NAME'],
    tokenVendor: ['TABLE_NAME', 'CLIENT_CREDENTIALS_SECRET_ID', 'EVENT_BUS_NAME'],
    exampleConsumer: ['BITRIX24_TOKEN_TABLE', 'BITRIX24_TOKEN_VENDOR'],
  };

  it('gives the example consumer the token table and the token vendor, nothing of the service', () => {
    // Act
    const environment = environmentOf('exampleConsumer');

    // Assess
    expect(environment.BITRIX24_TOKEN_TABLE).toEqual({ Ref: tableId() });
    expect(environment.BITRIX24_TOKEN_VENDOR).toEqual(arnOf(fnId('tokenVendor')));
  });

  it.each(SERVICE_NAMES)('%s gets the resource variables it needs and no others', (name) => {
    // Act
    const environment = environmentOf(name);
    const resourceVariables = Object.keys(environment).filter(
      (v) => !v.startsWith('POWERTOOLS_') && v !== 'NODE_OPTIONS',
    );

    // Assess
    expect(resourceVariables.sort()).toEqual([...expected[name]].sort());
    expect(environment.TABLE_NAME).toEqual({ Ref: tableId() });
    if (expected[name].includes('CLIENT_CREDENTIALS_SECRET_ID')) {
      expect(environment.CLIENT_CREDENTIALS_SECRET_ID).toEqual({ Ref: secretId() });
    }
    if (expected[name].includes('EVENT_BUS_NAME')) expect(environment.EVENT_BUS_NAME).toEqual({ Ref: busId() });
  });
});

describe('least privilege', () => {
  /** A statement on the table (or the due index) limited to partition keys matching `pattern`. */
  const onItems = (actions: string[], pattern: string, resource: unknown = arnOf(tableId())) => ({
    Action: actions.length === 1 ? `dynamodb:${actions[0]}` : actions.map((action) => `dynamodb:${action}`),
    Effect: 'Allow',
    Resource: resource,
    Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [pattern] } },
  });
  const onDueIndex = (pattern: string) => onItems(['Query'], pattern, indexArn());

  // Written out by hand from the use cases each function runs (docs/DEPLOY.md §1): a change of what a
  // function does shows up here as a change of its grant.
  const expected = (): Record<FunctionName, unknown[]> => ({
    oauthStart: [onItems(['PutItem'], 'STATE#*')],
    oauthCallback: [
      onItems(['GetItem', 'PutItem', 'UpdateItem'], 'PORTAL#*'),
      onItems(['DeleteItem'], 'STATE#*'),
      onItems(['UpdateItem'], 'APP#*'),
    ],
    appEvents: [
      onItems(
        ['GetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'ConditionCheckItem'],
        'PORTAL#*',
      ),
      onItems(['GetItem', 'Query', 'PutItem', 'DeleteItem', 'BatchWriteItem'], 'LIFECYCLE#*'),
      onItems(['GetItem', 'UpdateItem'], 'APP#*'),
    ],
    installPage: [
      onItems(['GetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem'], 'PORTAL#*'),
      onItems(['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem'], 'LIFECYCLE#*'),
      onItems(['GetItem', 'UpdateItem'], 'APP#*'),
    ],
    // Reads the due index only; the workers do the rest.
    dispatchRefreshes: [onDueIndex('DUE#*')],
    refreshWorker: [
      onItems(['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'ConditionCheckItem'], 'PORTAL#*'),
      onItems(['GetItem', 'UpdateItem'], 'APP#*'),
    ],
    processParkedEvents: [
      onItems(['GetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem'], 'PORTAL#*'),
      onItems(['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem'], 'LIFECYCLE#*'),
      onItems(['GetItem', 'UpdateItem'], 'APP#*'),
      onDueIndex('PARKED#*'),
    ],
    tokenVendor: [
      onItems(['GetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem', 'ConditionCheckItem'], 'PORTAL#*'),
      onItems(['GetItem'], 'APP#*'),
    ],
    exampleConsumer: [],
  });

  it('lets process-parked-events read the table stream and nothing else reads it', () => {
    // Act
    const readers = NAMES.filter((name) => JSON.stringify(statements(name)).includes('StreamArn'));
    const streamStatements = statements('processParkedEvents').filter((s) =>
      actionsOf(s).some((a) => ['dynamodb:GetRecords', 'dynamodb:ListStreams'].includes(a)),
    );

    // Assess
    expect(readers).toEqual(['processParkedEvents']);
    expect(streamStatements.map(actionsOf)).toEqual([
      ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
      ['dynamodb:ListStreams'],
    ]);
  });

  it('hands only newly parked claims from the keys-only stream to process-parked-events, failures to the dead letters', () => {
    // Act
    const mappings = Object.values(built.template.findResources('AWS::Lambda::EventSourceMapping'));
    const table = Object.values(built.template.findResources('AWS::DynamoDB::Table'))[0];

    // Assess
    expect(table?.Properties.StreamSpecification).toEqual({ StreamViewType: 'KEYS_ONLY' });
    const stream = mappings.filter((m) => JSON.stringify(m.Properties.EventSourceArn).includes('StreamArn'));
    expect(stream).toHaveLength(1);
    expect(stream[0]?.Properties).toMatchObject({
      StartingPosition: 'LATEST',
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 2,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      FilterCriteria: {
        Filters: [
          {
            Pattern: JSON.stringify({
              eventName: ['INSERT'],
              dynamodb: { Keys: { sk: { S: [{ prefix: 'PARKED#' }] } } },
            }),
          },
        ],
      },
    });
    expect(JSON.stringify(stream[0]?.Properties.DestinationConfig)).toContain('DeadLetters');
  });

  /** Statements on the table and its index (the stream has its own ARN and no partition keys). */
  const onTable = (name: FunctionName) =>
    statements(name).filter(
      (s) =>
        actionsOf(s).some((a) => a.startsWith('dynamodb:')) && !/StreamArn|\/stream\//.test(JSON.stringify(s.Resource)),
    );

  it.each(SERVICE_NAMES)('%s may do in DynamoDB exactly what its use cases do, on its item families only', (name) => {
    // Act
    const dynamo = onTable(name);

    // Assess
    expect(dynamo).toEqual(expected()[name]);
  });

  it('grants BatchWriteItem only to the function that runs a clean uninstall', () => {
    // Act
    const batchWriters = NAMES.filter((name) =>
      statements(name).flatMap(actionsOf).includes('dynamodb:BatchWriteItem'),
    );

    // Assess
    expect(batchWriters).toEqual(['appEvents']);
  });

  it('lets only the two scheduled functions query the due index, each its own entries', () => {
    // Act
    const readers = NAMES.filter((name) => JSON.stringify(statements(name)).includes('/index/'));

    // Assess
    expect(readers).toEqual(['dispatchRefreshes', 'processParkedEvents']);
  });

  it.each(NAMES)('%s has no DynamoDB statement without a partition-key condition', (name) => {
    // Act
    const unscoped = onTable(name).filter((s) => s.Condition === undefined);

    // Assess
    expect(unscoped).toEqual([]);
  });

  const secretReaders = SERVICE_NAMES.filter((name) => FUNCTIONS[name].clientCredentials);

  it('lets a consumer only read the readable attributes of portal items, decrypt through DynamoDB and invoke the vendor', () => {
    // Act
    const granted = statements('exampleConsumer').filter((s) => !actionsOf(s).some((a) => a.startsWith('logs:')));

    // Assess: exactly three statements, and nothing else (no secret, no write, no EventBridge)
    expect(granted).toEqual([
      {
        Action: ['dynamodb:GetItem', 'dynamodb:Query'],
        Effect: 'Allow',
        Resource: arnOf(tableId()),
        Condition: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['PORTAL#*'] },
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...CONSUMER_READABLE_ATTRIBUTES] },
          StringEqualsIfExists: { 'dynamodb:Select': 'SPECIFIC_ATTRIBUTES' },
        },
      },
      {
        Action: 'kms:Decrypt',
        Effect: 'Allow',
        Resource: arnOf(keyId()),
        Condition: {
          StringEquals: {
            'kms:ViaService': { 'Fn::Join': ['', ['dynamodb.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
          },
        },
      },
      { Action: 'lambda:InvokeFunction', Effect: 'Allow', Resource: arnOf(fnId('tokenVendor')) },
    ]);
    expect(CONSUMER_READABLE_ATTRIBUTES).not.toContain('refreshToken');
  });

  it.each(SERVICE_NAMES)(
    '%s uses the table key through DynamoDB and the secret key through Secrets Manager only',
    (name) => {
      // Act
      const kms = statements(name).filter((s) => actionsOf(s).some((a) => a.startsWith('kms:')));

      // Assess
      expect(kms).toHaveLength(secretReaders.includes(name) ? 2 : 1);
      for (const statement of kms) {
        expect(statement.Resource).toEqual(arnOf(keyId()));
        expect(JSON.stringify(statement.Condition)).toMatch(
          /"kms:ViaService":\{"Fn::Join":\["",\["(dynamodb|secretsmanager)\."/,
        );
      }
      // Encrypting only for a function that writes (the dispatcher only queries the due index).
      const writes = name !== 'dispatchRefreshes';
      expect(kms.map((s) => actionsOf(s).includes('kms:Encrypt'))).toEqual(
        secretReaders.includes(name) ? [writes, false] : [writes],
      );
    },
  );

  it('does not let the public start of the OAuth flow read the client secret in any way', () => {
    // Act
    const granted = statements('oauthStart');
    const text = JSON.stringify(granted);

    // Assess: no Secrets Manager action, no key use through Secrets Manager, no reference to the secret
    expect(secretReaders).not.toContain('oauthStart');
    expect(granted.flatMap(actionsOf).filter((a) => a.startsWith('secretsmanager:'))).toEqual([]);
    expect(text).not.toContain('secretsmanager');
    expect(text).not.toContain(secretId());
    expect(environmentOf('oauthStart').CLIENT_CREDENTIALS_SECRET_ID).toBeUndefined();
  });

  it.each(secretReaders)('%s may read the one credentials secret', (name) => {
    // Act
    const secrets = statements(name).filter((s) => actionsOf(s).some((a) => a.startsWith('secretsmanager:')));

    // Assess
    expect(secrets).toEqual([
      {
        Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        Effect: 'Allow',
        Resource: { Ref: secretId() },
      },
    ]);
  });

  it.each(NAMES)('%s may put events on the one bus only if it tells operators something', (name) => {
    // Act
    const events = statements(name).filter((s) => actionsOf(s).some((a) => a.startsWith('events:')));

    // Assess: the refresh path's transitions (the uninstall proof's too) and lost installs (install_lost)
    const publishes = ['refreshWorker', 'tokenVendor', 'appEvents', 'installPage', 'processParkedEvents'].includes(
      name,
    );
    expect(events).toEqual(
      publishes ? [{ Action: 'events:PutEvents', Effect: 'Allow', Resource: arnOf(busId()) }] : [],
    );
  });

  it('grants no action on every resource, and no wildcard action, in any policy', () => {
    // Act
    const all = Object.values(built.template.findResources('AWS::IAM::Policy')).flatMap(
      (policy) => policy.Properties.PolicyDocument.Statement as Statement[],
    );

    // Assess
    expect(all.length).toBeGreaterThan(0);
    expect(all.filter((s) => s.Resource === '*' || (Array.isArray(s.Resource) && s.Resource.includes('*')))).toEqual(
      [],
    );
    expect(all.flatMap(actionsOf).filter((action) => action.includes('*'))).toEqual([]);
  });
});

describe('stack outputs', () => {
  it('name the table, the secret, the bus, the topic, the token vendor and the consumer parameters', () => {
    built.template.hasOutput('TokenTableName', { Value: { Ref: tableId() } });
    built.template.hasOutput('ClientCredentialsSecretId', { Value: { Ref: secretId() } });
    built.template.hasOutput('EventBusName', { Value: { Ref: busId() } });
    built.template.hasOutput('NotificationTopicArn', { Value: { Ref: logicalId(built.stack.notifications.topic) } });
    built.template.hasOutput('TokenVendorArn', { Value: arnOf(fnId('tokenVendor')) });
    built.template.hasOutput('ConsumerParameterPrefix', { Value: DEFAULT_PARAMETER_PREFIX });
  });
});

describe('ConsumerParameters', () => {
  it.each([
    ['table-name', () => ({ Ref: tableId() })],
    ['table-arn', () => arnOf(tableId())],
    ['table-key-arn', () => arnOf(keyId())],
    ['vendor-function-arn', () => arnOf(fnId('tokenVendor'))],
  ])('publishes %s for consumers of other apps', (name, value) => {
    built.template.hasResourceProperties('AWS::SSM::Parameter', {
      Name: `${DEFAULT_PARAMETER_PREFIX}/consumer/${name}`,
      Type: 'String',
      Value: value(),
    });
  });

  it('publishes nothing else', () => {
    built.template.resourceCountIs('AWS::SSM::Parameter', 4);
  });
});

describe('OAuthHttpApi', () => {
  const routes: [string, FunctionName][] = [
    ['GET /oauth/start', 'oauthStart'],
    ['GET /oauth/callback', 'oauthCallback'],
    ['POST /bitrix/events', 'appEvents'],
    ['GET /bitrix/install', 'installPage'],
    ['POST /bitrix/install', 'installPage'],
  ];

  it('has exactly the five routes', () => {
    // Act
    const keys = Object.values(built.template.findResources('AWS::ApiGatewayV2::Route')).map(
      (r) => r.Properties.RouteKey,
    );

    // Assess
    expect(keys.sort()).toEqual(routes.map(([key]) => key).sort());
  });

  it.each(routes)('sends %s to %s', (routeKey, name) => {
    // Prepare
    const route = Object.values(built.template.findResources('AWS::ApiGatewayV2::Route')).find(
      (r) => r.Properties.RouteKey === routeKey,
    );
    const integrationId: unknown = route?.Properties.Target['Fn::Join'][1][1].Ref;
    const integrations = built.template.findResources('AWS::ApiGatewayV2::Integration');

    // Assess
    expect(typeof integrationId).toBe('string');
    expect(integrations[String(integrationId)]?.Properties).toMatchObject({
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
      IntegrationUri: arnOf(fnId(name)),
    });
  });

  it('gives each route its own throttle, so a flood of /oauth/start leaves the events their budget', () => {
    // Act
    const stage = Object.values(built.template.findResources('AWS::ApiGatewayV2::Stage'))[0];

    // Assess
    expect(stage?.Properties.RouteSettings).toEqual({
      'GET /oauth/start': { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 },
      'GET /oauth/callback': { ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 },
      'POST /bitrix/events': { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
      'GET /bitrix/install': { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 },
      'POST /bitrix/install': { ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 },
    });
    expect(DEFAULT_ROUTE_THROTTLES.oauthStart.rateLimit).toBeLessThan(DEFAULT_ROUTE_THROTTLES.events.rateLimit);
  });

  it('creates the stage after its routes (API Gateway refuses settings of a route it does not know)', () => {
    // Prepare
    const routeIds = Object.keys(built.template.findResources('AWS::ApiGatewayV2::Route'));

    // Act
    const stage = Object.values(built.template.findResources('AWS::ApiGatewayV2::Stage'))[0];

    // Assess
    expect(routeIds).toHaveLength(5);
    expect(stage?.DependsOn).toEqual(expect.arrayContaining(routeIds));
  });

  it('lets an operator change one route throttle and keeps the others', () => {
    // Act
    const custom = buildStack({ routeThrottles: { events: { rateLimit: 300, burstLimit: 600 } } });
    const stage = Object.values(custom.template.findResources('AWS::ApiGatewayV2::Stage'))[0];

    // Assess
    expect(stage?.Properties.RouteSettings['POST /bitrix/events']).toEqual({
      ThrottlingRateLimit: 300,
      ThrottlingBurstLimit: 600,
    });
    expect(stage?.Properties.RouteSettings['GET /oauth/start']).toEqual({
      ThrottlingRateLimit: 5,
      ThrottlingBurstLimit: 10,
    });
  });

  it('throttles the default stage and writes an access log without query strings', () => {
    // Prepare
    const accessLogsId = logicalId(built.stack.api.accessLogs);

    // Act
    const stage = Object.values(built.template.findResources('AWS::ApiGatewayV2::Stage'))[0];
    const format = String(stage?.Properties.AccessLogSettings.Format);

    // Assess
    expect(stage?.Properties).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      AccessLogSettings: { DestinationArn: arnOf(accessLogsId) },
    });
    expect(format).toContain('$context.requestId');
    expect(format).toContain('$context.routeKey');
    expect(format).not.toMatch(/querystring|\$context\.path|\$request/i);
    expect(built.template.findResources('AWS::Logs::LogGroup')[accessLogsId]?.Properties).toEqual({
      RetentionInDays: 30,
      Tags: expect.any(Array),
    });
  });

  it('outputs the URLs to paste into Bitrix24', () => {
    // Prepare
    const apiId = logicalId(built.stack.api.httpApi);
    const url = (path: string) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [apiId, 'ApiEndpoint'] }, path]] });

    // Assess
    built.template.hasOutput('ApiUrl', { Value: { 'Fn::GetAtt': [apiId, 'ApiEndpoint'] } });
    built.template.hasOutput('RedirectUri', { Value: url('/oauth/callback') });
    built.template.hasOutput('InstallUrl', { Value: url('/bitrix/install') });
    built.template.hasOutput('EventHandlerUrl', { Value: url('/bitrix/events') });
    built.template.hasOutput('OAuthStartUrl', { Value: url('/oauth/start') });
  });
});

describe('TokenRefreshSchedule', () => {
  const queueId = () => logicalId(built.stack.deadLetters.queue);

  it.each([
    ['dispatchRefreshes', 'rate(5 minutes)', 300],
    ['processParkedEvents', 'rate(1 minute)', 60],
  ] as const)(
    'invokes %s on %s with retries within one interval, and a dead-letter queue',
    (name, expression, maxAge) => {
      built.template.hasResourceProperties('AWS::Scheduler::Schedule', {
        ScheduleExpression: expression,
        State: 'ENABLED',
        Target: {
          Arn: arnOf(fnId(name)),
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: maxAge },
          DeadLetterConfig: { Arn: arnOf(queueId()) },
        },
      });
    },
  );

  it.each([
    ['dispatchRefreshes', 300],
    ['processParkedEvents', 60],
  ] as const)(
    'does not let Lambda retry %s (the next tick does), drops it after one interval and sends failures to the queue',
    (name, maxAge) => {
      built.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: fnId(name) },
        MaximumRetryAttempts: 0,
        MaximumEventAgeInSeconds: maxAge,
        DestinationConfig: { OnFailure: { Destination: arnOf(queueId()) } },
      });
      const onDeadLetters = statements(name).filter(
        (s) =>
          actionsOf(s).some((a) => a.startsWith('sqs:')) &&
          JSON.stringify(s.Resource) === JSON.stringify(arnOf(queueId())),
      );
      expect(onDeadLetters).toEqual([
        {
          Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
          Effect: 'Allow',
          Resource: arnOf(queueId()),
        },
      ]);
    },
  );

  it('has an asynchronous invocation config only on the two scheduled functions', () => {
    const configured = Object.values(built.template.findResources('AWS::Lambda::EventInvokeConfig')).map(
      (c) => c.Properties.FunctionName.Ref,
    );
    expect(configured.sort()).toEqual([fnId('dispatchRefreshes'), fnId('processParkedEvents')].sort());
  });

  it('lets the scheduler invoke those two functions and write to the dead-letter queue, nothing else', () => {
    // Prepare
    const scheduleRole = Object.values(built.template.findResources('AWS::Scheduler::Schedule'))[0]?.Properties.Target
      .RoleArn['Fn::GetAtt'][0];

    // Act
    const granted = statementsOfRole(built.template, String(scheduleRole));
    const invoke = granted.filter((s) => actionsOf(s).includes('lambda:InvokeFunction'));

    // Assess
    expect(granted.flatMap(actionsOf).sort()).toEqual(
      ['lambda:InvokeFunction', 'lambda:InvokeFunction', 'sqs:SendMessage'].sort(),
    );
    expect(JSON.stringify(invoke.map((s) => s.Resource))).toBe(
      JSON.stringify(
        (['dispatchRefreshes', 'processParkedEvents'] as const).map((name) => [
          arnOf(fnId(name)),
          { 'Fn::Join': ['', [arnOf(fnId(name)), ':*']] },
        ]),
      ),
    );
    expect(granted.find((s) => actionsOf(s).includes('sqs:SendMessage'))?.Resource).toEqual(arnOf(queueId()));
  });
});

describe('RefreshQueue', () => {
  const refreshQueueId = () => logicalId(built.stack.refreshQueue.queue);
  const onRefreshQueue = (name: FunctionName) =>
    statements(name).filter((s) => JSON.stringify(s.Resource) === JSON.stringify(arnOf(refreshQueueId())));

  it('is encrypted, hides a message six worker timeouts long and redrives it to the dead letters after 5 receives', () => {
    const workerTimeout = timeoutOf(FUNCTIONS.refreshWorker, loadConfig({})).toSeconds();
    built.template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      VisibilityTimeout: workerTimeout * 6,
      MessageRetentionPeriod: 3600,
      RedrivePolicy: { deadLetterTargetArn: arnOf(logicalId(built.stack.deadLetters.queue)), maxReceiveCount: 5 },
    });
  });

  it('feeds the refresh worker in batches of 10 with partial batch responses and a maximum concurrency', () => {
    // Act
    const mappings = Object.values(built.template.findResources('AWS::Lambda::EventSourceMapping')).filter(
      (m) => JSON.stringify(m.Properties.EventSourceArn) === JSON.stringify(arnOf(refreshQueueId())),
    );

    // Assess
    expect(mappings).toHaveLength(1);
    expect(mappings[0]?.Properties).toMatchObject({
      FunctionName: { Ref: fnId('refreshWorker') },
      BatchSize: 10,
      ScalingConfig: { MaximumConcurrency: 10 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('takes the maximum concurrency of the workers from the stack props', () => {
    const custom = buildStack({ refreshWorkers: { maxConcurrency: 50 } });
    custom.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ScalingConfig: { MaximumConcurrency: 50 },
    });
  });

  it('lets the dispatcher only send to it, the worker only consume it, and no other function touch it', () => {
    // Act
    const touching = NAMES.filter((name) => onRefreshQueue(name).length > 0);

    // Assess
    expect(touching.sort()).toEqual(['dispatchRefreshes', 'refreshWorker']);
    expect(onRefreshQueue('dispatchRefreshes').flatMap(actionsOf).sort()).toEqual(
      ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'].sort(),
    );
    const consumed = onRefreshQueue('refreshWorker').flatMap(actionsOf);
    expect(consumed).toEqual(expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage']));
    expect(consumed).not.toContain('sqs:SendMessage');
    expect(
      consumed.filter(
        (a) => !/^sqs:(ReceiveMessage|ChangeMessageVisibility|GetQueueUrl|DeleteMessage|GetQueueAttributes)$/.test(a),
      ),
    ).toEqual([]);
    expect(environmentOf('dispatchRefreshes').REFRESH_QUEUE_URL).toEqual({ Ref: refreshQueueId() });
  });

  it('raises an alarm when its oldest message waits longer than 5 minutes', () => {
    const alarm = Object.values(built.template.findResources('AWS::CloudWatch::Alarm')).find(
      (a) => a.Properties.MetricName === 'ApproximateAgeOfOldestMessage',
    );
    expect(alarm?.Properties).toMatchObject({
      Namespace: 'AWS/SQS',
      Threshold: 300,
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [refreshQueueId(), 'QueueName'] } }],
    });
  });
});

describe('rate budget', () => {
  it('tells the dispatcher the schedule interval its budget is per', () => {
    expect(environmentOf('dispatchRefreshes').REFRESH_DISPATCH_INTERVAL_SECONDS).toBe('300');
  });

  it('alarms when the oldest due token set waits past the access lead less one interval, and above the ceiling', () => {
    const alarms = Object.values(built.template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    expect(alarms).toContainEqual(
      expect.objectContaining({ MetricName: METRIC_NAMES.sweepOldestOverdue, Threshold: 10 * 60_000 }),
    );
    const ceiling = alarms.find((a) => JSON.stringify(a.Metrics ?? []).includes(METRIC_NAMES.authServerCalls));
    expect(ceiling).toMatchObject({ Threshold: 100 * 60, EvaluationPeriods: 5 });
  });
});

describe('DeadLetters', () => {
  it('is one encrypted queue that refuses plain http and keeps messages for 14 days', () => {
    // The other queue is the refresh queue, which redrives to this one.
    built.template.resourceCountIs('AWS::SQS::Queue', 2);
    built.template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    built.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    built.template.hasOutput('DeadLettersQueueUrl', { Value: { Ref: logicalId(built.stack.deadLetters.queue) } });
  });
});

describe('Notifications', () => {
  it('routes each attention event from the bus to the encrypted topic', () => {
    // Prepare
    const topicId = logicalId(built.stack.notifications.topic);

    // Assess
    for (const event of ATTENTION_EVENTS) {
      built.template.hasResourceProperties('AWS::Events::Rule', {
        EventBusName: { Ref: busId() },
        EventPattern: {
          source: [NOTIFICATION_SOURCE],
          'detail-type': [TOKEN_STATUS_DETAIL_TYPE],
          detail: { event: [event] },
        },
        Targets: [
          Match.objectLike({
            Arn: { Ref: topicId },
            DeadLetterConfig: { Arn: arnOf(logicalId(built.stack.deadLetters.queue)) },
          }),
        ],
      });
    }
    expect(ATTENTION_EVENTS).toEqual(expect.arrayContaining(['reauth_required', 'payment_required']));
    built.template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
  });
});

describe('Alarms', () => {
  function alarms() {
    return Object.values(built.template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
  }

  it.each([METRIC_NAMES.sweepBacklog, METRIC_NAMES.parkedEventsBacklog])(
    'watches the custom metric %s with the service dimension',
    (metricName) => {
      expect(alarms()).toContainEqual(
        expect.objectContaining({
          Namespace: METRICS_NAMESPACE,
          MetricName: metricName,
          Dimensions: [{ Name: 'service', Value: 'bitrix24-token-service' }],
        }),
      );
    },
  );

  it('sums refresh failures over every category', () => {
    expect(JSON.stringify(alarms())).toContain(
      `SELECT SUM(${METRIC_NAMES.refreshFailed}) FROM SCHEMA(\\"${METRICS_NAMESPACE}\\", category, service)`,
    );
  });

  it('counts reauth_required notifications', () => {
    expect(alarms()).toContainEqual(
      expect.objectContaining({ Namespace: 'AWS/Events', MetricName: 'MatchedEvents', Statistic: 'Sum' }),
    );
  });

  it.each(NAMES)('alarms on errors of %s', (name) => {
    expect(alarms()).toContainEqual(
      expect.objectContaining({
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: fnId(name) } }],
      }),
    );
  });

  it('watches the dispatcher for duration and for not running', () => {
    // Prepare
    const sweep = [{ Name: 'FunctionName', Value: { Ref: fnId('dispatchRefreshes') } }];

    // Assess
    expect(alarms()).toContainEqual(
      expect.objectContaining({ MetricName: 'Duration', Dimensions: sweep, Threshold: 120_000 * 0.8 }),
    );
    expect(alarms()).toContainEqual(
      expect.objectContaining({
        MetricName: 'Invocations',
        Dimensions: sweep,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
      }),
    );
  });

  it('watches only custom metrics that the code publishes', () => {
    // Prepare: every .ts file of the functions and shared code, except the port that names them
    const sources = ['functions', 'shared']
      .flatMap((dir) => readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((file) => join(dir, file)))
      .filter((file) => file.endsWith('.ts') && !file.endsWith(join('core', 'ports', 'metrics.ts')))
      .map((file) => readFileSync(file, 'utf8'))
      .join('\n');
    const keyOf = (metric: string) => Object.entries(METRIC_NAMES).find(([, value]) => value === metric)?.[0] ?? '-';

    // Act
    const watched = alarms().flatMap((alarm) => [
      ...(alarm.Namespace === METRICS_NAMESPACE ? [String(alarm.MetricName)] : []),
      ...[...JSON.stringify(alarm.Metrics ?? []).matchAll(/SELECT SUM\((\w+)\)/g)].map((match) => String(match[1])),
    ]);
    const unpublished = watched.filter(
      (metric) =>
        !new RegExp(`(count|milliseconds)\\(\\s*('${metric}'|"${metric}"|METRIC_NAMES\\.${keyOf(metric)}\\b)`).test(
          sources,
        ),
    );

    // Assess
    expect(watched.length).toBeGreaterThanOrEqual(3);
    expect(unpublished).toEqual([]);
  });

  it('raises an alarm as soon as the dead-letters queue holds a message', () => {
    expect(alarms()).toContainEqual(
      expect.objectContaining({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [
          { Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(built.stack.deadLetters.queue), 'QueueName'] } },
        ],
        Statistic: 'Maximum',
        Threshold: 1,
      }),
    );
  });

  it.each(['ReadThrottleEvents', 'WriteThrottleEvents'])(
    'watches %s of the table and of the due index',
    (metricName) => {
      // Prepare
      const table = { Name: 'TableName', Value: { Ref: tableId() } };

      // Assess
      expect(alarms()).toContainEqual(
        expect.objectContaining({
          Namespace: 'AWS/DynamoDB',
          MetricName: metricName,
          Dimensions: [table],
          Threshold: 1,
        }),
      );
      expect(alarms()).toContainEqual(
        expect.objectContaining({
          Namespace: 'AWS/DynamoDB',
          MetricName: metricName,
          Dimensions: expect.arrayContaining([
            table,
            { Name: 'GlobalSecondaryIndexName', Value: TABLE_SCHEMA.dueIndex.name },
          ]),
        }),
      );
    },
  );

  it('sends every alarm to the notification topic', () => {
    // Prepare
    const topicId = logicalId(built.stack.notifications.topic);

    // Assess
    expect(alarms().length).toBeGreaterThan(NAMES.length);
    for (const alarm of alarms()) expect(alarm.AlarmActions).toEqual([{ Ref: topicId }]);
  });
});

describe('tags', () => {
  /** A resource's tags, whichever of CloudFormation's two shapes (list of Key/Value, or a map) it uses. */
  function tagsOf(properties: Record<string, unknown> | undefined): Record<string, string> {
    const tags: unknown = properties?.Tags;
    if (Array.isArray(tags)) {
      return Object.fromEntries(tags.map((tag: { Key: string; Value: string }) => [tag.Key, tag.Value]));
    }
    return typeof tags === 'object' && tags !== null ? (tags as Record<string, string>) : {};
  }

  it('puts service and component on every taggable resource', () => {
    // Prepare
    const resources = built.template.toJSON().Resources as Record<string, { Properties?: Record<string, unknown> }>;
    const taggable = built.stack.node
      .findAll()
      .filter((c): c is CfnResource => CfnResource.isCfnResource(c) && TagManager.isTaggable(c))
      .map((c) => String(built.stack.resolve(c.logicalId)));

    // Act
    const untagged = taggable.filter((id) => {
      const tags = tagsOf(resources[id]?.Properties);
      return tags.service !== 'bitrix24-token-service' || tags.component === undefined;
    });

    // Assess
    expect(taggable.length).toBeGreaterThan(30);
    expect(untagged).toEqual([]);
  });

  it('names each concern, and each function by its entry', () => {
    // Prepare
    const resources = built.template.toJSON().Resources as Record<string, { Properties?: Record<string, unknown> }>;
    const component = (id: string) => tagsOf(resources[id]?.Properties).component;

    // Assess
    expect(component(tableId())).toBe('token-store');
    expect(component(fnId('oauthStart'))).toBe('oauth-start');
    expect(component(roleId('dispatchRefreshes'))).toBe('dispatch-refreshes');
    expect(component(logicalId(built.stack.refreshQueue.queue))).toBe('refresh-queue');
    expect(component(logicalId(built.stack.functions.appEvents.logGroup))).toBe('app-events');
    expect(component(logicalId(built.stack.api.httpApi))).toBe('http-api');
    expect(component(logicalId(built.stack.deadLetters.queue))).toBe('dead-letters');
  });
});

describe('custom domain', () => {
  const certificateArn = 'arn:aws:acm:eu-central-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789';

  it('maps a regional custom domain to the default stage and gives the URLs to paste on it', () => {
    // Act
    const custom = buildStack({ domainName: 'bitrix.example.com', certificateArn });
    const domainId = logicalId(custom.stack.api.domain);
    const stageId = logicalId(custom.stack.api.stage);

    // Assess
    custom.template.hasResourceProperties('AWS::ApiGatewayV2::DomainName', {
      DomainName: 'bitrix.example.com',
      DomainNameConfigurations: [
        { CertificateArn: certificateArn, EndpointType: 'REGIONAL', SecurityPolicy: 'TLS_1_2' },
      ],
    });
    const [mapping] = Object.values(custom.template.findResources('AWS::ApiGatewayV2::ApiMapping'));
    expect(mapping?.Properties).toMatchObject({
      ApiId: { Ref: logicalId(custom.stack.api.httpApi) },
      DomainName: { Ref: domainId },
      Stage: '$default',
    });
    expect(mapping?.Properties.ApiMappingKey).toBeUndefined();
    expect(mapping?.DependsOn).toContain(stageId);
    custom.template.hasOutput('ApiUrl', { Value: 'https://bitrix.example.com' });
    custom.template.hasOutput('RedirectUri', { Value: 'https://bitrix.example.com/oauth/callback' });
    custom.template.hasOutput('InstallUrl', { Value: 'https://bitrix.example.com/bitrix/install' });
    custom.template.hasOutput('EventHandlerUrl', { Value: 'https://bitrix.example.com/bitrix/events' });
    custom.template.hasOutput('OAuthStartUrl', { Value: 'https://bitrix.example.com/oauth/start' });
    custom.template.hasOutput('CustomDomainTarget', { Value: { 'Fn::GetAtt': [domainId, 'RegionalDomainName'] } });
    custom.template.hasOutput('ExecuteApiUrl', {
      Value: { 'Fn::GetAtt': [logicalId(custom.stack.api.httpApi), 'ApiEndpoint'] },
    });
    custom.template.resourceCountIs('AWS::Route53::RecordSet', 0);
  });

  it('adds the alias record when the Route 53 zone is given', () => {
    // Act
    const custom = buildStack({
      domainName: 'bitrix.example.com',
      certificateArn,
      hostedZone: { id: 'Z0123456789ABCDEFGHIJ', name: 'example.com' },
    });
    const domainId = logicalId(custom.stack.api.domain);

    // Assess
    custom.template.hasResourceProperties('AWS::Route53::RecordSet', {
      Name: 'bitrix.example.com.',
      Type: 'A',
      HostedZoneId: 'Z0123456789ABCDEFGHIJ',
      AliasTarget: {
        DNSName: { 'Fn::GetAtt': [domainId, 'RegionalDomainName'] },
        HostedZoneId: { 'Fn::GetAtt': [domainId, 'RegionalHostedZoneId'] },
      },
    });
  });

  it('keeps the execute-api URLs without a domain', () => {
    built.template.resourceCountIs('AWS::ApiGatewayV2::DomainName', 0);
    expect(built.template.findOutputs('CustomDomainTarget')).toEqual({});
  });

  it.each([
    [{ domainName: 'bitrix.example.com' }, /both domainName and certificate/],
    [{ certificateArn }, /both domainName and certificate/],
    [{ domainName: 'Bitrix.Example.com', certificateArn }, /lower-case host name/],
    [{ domainName: 'bitrix.example.com', certificateArn: 'arn:aws:iam::123456789012:role/x' }, /ACM certificate/],
  ])('refuses %j', (props, message) => {
    expect(() => buildStack(props)).toThrow(message);
  });
});
