import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ATTENTION_EVENTS } from '#infra/constructs/notifications.js';
import { FUNCTIONS, type FunctionName, timeoutOf } from '#infra/function-catalog.js';
import {
  CONSUMER_READABLE_ATTRIBUTES,
  createTableInput,
  TABLE_SCHEMA,
} from '#shared/adapters/dynamodb/table-schema.js';
import { NOTIFICATION_SOURCE, TOKEN_STATUS_DETAIL_TYPE } from '#shared/adapters/eventbridge-notification-publisher.js';
import { DEFAULT_PARAMETER_PREFIX } from '#shared/consumer/cdk/parameters.js';
import { METRIC_NAMES, METRICS_NAMESPACE } from '#shared/core/ports/metrics.js';
import { loadConfig, vendorTimeoutSeconds } from '#shared/runtime/config.js';
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
    });
  });

  it('builds exactly the eight functions of the catalog when the example consumer is asked for', () => {
    built.template.resourceCountIs('AWS::Lambda::Function', NAMES.length);
    expect(NAMES).toHaveLength(8);
  });

  it('gives the token vendor time for a lease wait and one refresh of its own: 65 s with the defaults', () => {
    // Act
    const vendor = built.template.findResources('AWS::Lambda::Function')[fnId('tokenVendor')];

    // Assess: 34 s lease wait + 8 s authorization server + 2 × 9 s DynamoDB + 5 s
    expect(vendor?.Properties.Timeout).toBe(65);
    expect(vendorTimeoutSeconds(loadConfig({ REFRESH_LEASE_SECONDS: '40' }))).toBe(75);
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
    oauthStart: ['TABLE_NAME', 'CLIENT_CREDENTIALS_SECRET_ID'],
    oauthCallback: ['TABLE_NAME', 'CLIENT_CREDENTIALS_SECRET_ID'],
    appEvents: ['TABLE_NAME', 'CLIENT_CREDENTIALS_SECRET_ID'],
    installPage: ['TABLE_NAME', 'CLIENT_CREDENTIALS_SECRET_ID'],
    refreshTokens: ['TABLE_NAME', 'CLIENT_CREDENTIALS_SECRET_ID', 'EVENT_BUS_NAME'],
    processParkedEvents: ['TABLE_NAME', 'CLIENT_CREDENTIALS_SECRET_ID'],
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
    expect(environment.CLIENT_CREDENTIALS_SECRET_ID).toEqual({ Ref: secretId() });
    if (expected[name].includes('EVENT_BUS_NAME')) expect(environment.EVENT_BUS_NAME).toEqual({ Ref: busId() });
  });
});

describe('least privilege', () => {
  const readWrite = [
    'dynamodb:GetItem',
    'dynamodb:Query',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:DeleteItem',
    'dynamodb:BatchWriteItem',
    'dynamodb:ConditionCheckItem',
  ];
  const serviceFunctions = NAMES.filter((name) => FUNCTIONS[name].tokens === 'readWrite');

  it.each(serviceFunctions)(
    '%s may read and write the token table and its due index, nothing else in DynamoDB',
    (name) => {
      // Act
      const dynamo = statements(name).filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));

      // Assess
      expect(dynamo).toEqual([{ Action: readWrite, Effect: 'Allow', Resource: [arnOf(tableId()), indexArn()] }]);
    },
  );

  it('lets the public start of the OAuth flow only create OAuth states', () => {
    // Act
    const dynamo = statements('oauthStart').filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));

    // Assess
    expect(dynamo).toEqual([
      {
        Action: 'dynamodb:PutItem',
        Effect: 'Allow',
        Resource: arnOf(tableId()),
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['STATE#*'] } },
      },
    ]);
  });

  it('lets the token vendor read and write portal items only: no batch write, no index, no other partitions', () => {
    // Act
    const dynamo = statements('tokenVendor').filter((s) => actionsOf(s).some((a) => a.startsWith('dynamodb:')));

    // Assess
    expect(dynamo).toEqual([
      {
        Action: [
          'dynamodb:GetItem',
          'dynamodb:Query',
          'dynamodb:UpdateItem',
          'dynamodb:PutItem',
          'dynamodb:DeleteItem',
          'dynamodb:ConditionCheckItem',
        ],
        Effect: 'Allow',
        Resource: arnOf(tableId()),
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['PORTAL#*'] } },
      },
    ]);
  });

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
      expect(kms).toHaveLength(2);
      for (const statement of kms) {
        expect(statement.Resource).toEqual(arnOf(keyId()));
        expect(JSON.stringify(statement.Condition)).toMatch(
          /"kms:ViaService":\{"Fn::Join":\["",\["(dynamodb|secretsmanager)\."/,
        );
      }
      expect(kms.map((s) => actionsOf(s).includes('kms:Encrypt'))).toEqual([true, false]);
    },
  );

  it.each(SERVICE_NAMES)('%s may read the one credentials secret', (name) => {
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

  it.each(NAMES)('%s may put events on the one bus only if it runs the refresh path', (name) => {
    // Act
    const events = statements(name).filter((s) => actionsOf(s).some((a) => a.startsWith('events:')));

    // Assess
    const publishes = name === 'refreshTokens' || name === 'tokenVendor';
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
  it.each([
    ['refreshTokens', 'rate(5 minutes)', 300],
    ['processParkedEvents', 'rate(1 minute)', 60],
  ] as const)('invokes %s on %s with retries', (name, expression, maxAge) => {
    built.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: expression,
      State: 'ENABLED',
      Target: {
        Arn: arnOf(fnId(name)),
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: maxAge },
      },
    });
  });

  it.each(['refreshTokens', 'processParkedEvents'] as const)(
    'does not let Lambda retry %s (the next tick does)',
    (name) => {
      built.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: fnId(name) },
        MaximumRetryAttempts: 0,
      });
    },
  );

  it('lets the scheduler invoke those two functions only', () => {
    // Prepare
    const scheduleRole = Object.values(built.template.findResources('AWS::Scheduler::Schedule'))[0]?.Properties.Target
      .RoleArn['Fn::GetAtt'][0];

    // Act
    const granted = statementsOfRole(built.template, String(scheduleRole));

    // Assess
    expect(granted.flatMap(actionsOf)).toEqual(['lambda:InvokeFunction', 'lambda:InvokeFunction']);
    expect(JSON.stringify(granted.map((s) => s.Resource))).toBe(
      JSON.stringify(
        (['refreshTokens', 'processParkedEvents'] as const).map((name) => [
          arnOf(fnId(name)),
          { 'Fn::Join': ['', [arnOf(fnId(name)), ':*']] },
        ]),
      ),
    );
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
        Targets: [Match.objectLike({ Arn: { Ref: topicId } })],
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

  it('watches the sweep for duration and for not running', () => {
    // Prepare
    const sweep = [{ Name: 'FunctionName', Value: { Ref: fnId('refreshTokens') } }];

    // Assess
    expect(alarms()).toContainEqual(
      expect.objectContaining({ MetricName: 'Duration', Dimensions: sweep, Threshold: 240_000 * 0.8 }),
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

  it('sends every alarm to the notification topic', () => {
    // Prepare
    const topicId = logicalId(built.stack.notifications.topic);

    // Assess
    expect(alarms().length).toBeGreaterThan(NAMES.length);
    for (const alarm of alarms()) expect(alarm.AlarmActions).toEqual([{ Ref: topicId }]);
  });
});
