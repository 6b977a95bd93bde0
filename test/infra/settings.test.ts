import { Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import {
  FUNCTIONS,
  type FunctionName,
  OPERATOR_SETTINGS,
  PROP_SETTINGS,
  RESOURCE_SETTINGS,
  SETTING_AREAS,
} from '#infra/function-catalog.js';
import { ConfigError } from '#shared/core/domain/errors.js';
import { loadConfig } from '#shared/runtime/config.js';
import { actionsOf, arnOf, buildApp, buildStack, logicalId, statementsOfRole } from './stack-fixture.js';

const NAMES = Object.keys(FUNCTIONS) as FunctionName[];

describe('operator settings', () => {
  it('reach only the functions that read them', () => {
    // Prepare
    const settings = {
      DUE_SHARDS: '8',
      OAUTH_STATE_TTL_SECONDS: '300',
      REFRESH_SWEEP_MAX_KEYS: '4',
      CONSUMER_CACHE_SECONDS: '60',
      PARKED_EVENT_SHARDS: '3',
    };

    // Act
    const built = buildStack({ settings, exampleConsumer: true });
    const functions = built.template.findResources('AWS::Lambda::Function');
    const holders = (variable: string) =>
      NAMES.filter(
        (name) =>
          variable in (functions[logicalId(built.stack.functions[name])]?.Properties.Environment.Variables ?? {}),
      );

    // Assess: a consumer reads only its own tuning; the store's layout is the service's business
    expect(holders('DUE_SHARDS')).toEqual(NAMES.filter((name) => name !== 'oauthStart' && name !== 'exampleConsumer'));
    expect(holders('OAUTH_STATE_TTL_SECONDS')).toEqual(['oauthStart', 'oauthCallback']);
    expect(holders('REFRESH_SWEEP_MAX_KEYS')).toEqual(['dispatchRefreshes']);
    expect(holders('CONSUMER_CACHE_SECONDS')).toEqual(['exampleConsumer']);
    expect(holders('PARKED_EVENT_SHARDS')).toEqual(['appEvents', 'installPage', 'processParkedEvents']);
    built.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { DUE_SHARDS: '8', REFRESH_SWEEP_MAX_KEYS: '4' } },
    });
  });

  it.each([
    [{ NOT_A_SETTING: '1' }, /NOT_A_SETTING is read by no function/],
    [{ REFRESH_SWEEP_CONCURRENCY: '4' }, /REFRESH_SWEEP_CONCURRENCY is read by the operator CLI's sweep only/],
    [{ TABLE_NAME: 'mine' }, /TABLE_NAME is set from the deployed resources/],
    [{ BITRIX_CLIENT_ID: 'local.1.2' }, /BITRIX_CLIENT_ID is set from the stack's clientId/],
  ])('refuses %j at synth', (settings, message) => {
    expect(() => buildStack({ settings: settings as never })).toThrow(message);
  });

  it('cover every setting of shared/runtime/config.ts (a new setting must be given to the functions that read it)', () => {
    // Prepare: every setting with a default; the optional ones are bound to resources
    const all = Object.keys(loadConfig({}));
    const mapped = new Set<string>([
      ...Object.values(SETTING_AREAS).flat(),
      ...RESOURCE_SETTINGS,
      ...OPERATOR_SETTINGS,
      ...Object.keys(PROP_SETTINGS),
    ]);

    // Assess
    expect(all.length).toBeGreaterThan(10);
    expect(all.filter((name) => !mapped.has(name))).toEqual([]);
  });

  it('refuses a value the functions would refuse at cold start', () => {
    expect(() => buildStack({ settings: { DUE_SHARDS: '0' } })).toThrow(ConfigError);
  });
});

describe('client id', () => {
  it('reaches only oauth-start, as BITRIX_CLIENT_ID', () => {
    // Act
    const built = buildStack({ clientId: 'local.6500f0c0a1b2c3.12345678' });
    const functions = built.template.findResources('AWS::Lambda::Function');
    const holders = NAMES.filter((name) => {
      const fn = built.stack.functions[name];
      return (
        fn !== undefined && 'BITRIX_CLIENT_ID' in (functions[logicalId(fn)]?.Properties.Environment.Variables ?? {})
      );
    });

    // Assess
    expect(holders).toEqual(['oauthStart']);
    expect(
      functions[logicalId(built.stack.functions.oauthStart)]?.Properties.Environment.Variables.BITRIX_CLIENT_ID,
    ).toBe('local.6500f0c0a1b2c3.12345678');
  });

  it('is optional: without it the synth warns that /oauth/start cannot work yet', () => {
    // Act
    const built = buildStack();

    // Assess
    const warnings = Annotations.fromStack(built.stack).findWarning('*', Match.stringLikeRegexp('clientId is not set'));
    expect(warnings.map((w) => w.id)).toEqual(['/Bitrix24TokenService/OAuthStart']);
  });

  it('refuses a value that is not a client id', () => {
    expect(() => buildStack({ clientId: 'local.1 2' })).toThrow(/clientId must be the Bitrix24 client id/);
  });
});

describe('grantConsumer', () => {
  it('makes a Lambda of another stack of the app a reader and a vendor caller in one call', () => {
    // Prepare
    const { app, stack } = buildApp();
    const mine = new Stack(app, 'MyConsumers');
    const fn = new LambdaFunction(mine, 'Mine', {
      runtime: Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: Code.fromInline('export const handler = async () => {};'),
    });

    // Act
    stack.grantConsumer(fn);
    const template = Template.fromStack(mine);

    // Assess
    const variables = Object.values(template.findResources('AWS::Lambda::Function'))[0]?.Properties.Environment
      .Variables;
    expect(Object.keys(variables).sort()).toEqual(['BITRIX24_TOKEN_TABLE', 'BITRIX24_TOKEN_VENDOR']);
    const statements = statementsOfRole(template, logicalId(fn.role));
    expect(statements.flatMap(actionsOf).sort()).toEqual(
      ['dynamodb:GetItem', 'dynamodb:Query', 'kms:Decrypt', 'lambda:InvokeFunction'].sort(),
    );
    expect(statements.find((s) => actionsOf(s).includes('dynamodb:GetItem'))?.Condition).toMatchObject({
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['PORTAL#*'] },
      StringEqualsIfExists: { 'dynamodb:Select': 'SPECIFIC_ATTRIBUTES' },
    });
  });
});

describe('client credentials secret', () => {
  it('uses an existing secret by name: the name in the environment, only its ARN in the policy', () => {
    // Act
    const built = buildStack({ existingCredentialsSecret: 'bitrix24/client' });
    const role = logicalId(built.stack.functions.refreshWorker.role);
    const secretStatement = statementsOfRole(built.template, role).find((s) =>
      actionsOf(s).includes('secretsmanager:GetSecretValue'),
    );

    // Assess
    built.template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    built.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { CLIENT_CREDENTIALS_SECRET_ID: 'bitrix24/client' } },
    });
    expect(JSON.stringify(secretStatement?.Resource)).toMatch(/:secret:bitrix24\/client-\?\?\?\?\?\?"\]\]\}$/);
  });

  it('uses an existing secret by its complete ARN', () => {
    // Prepare
    const arn = 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:bitrix24/client-AbCdEf';

    // Act
    const built = buildStack({ existingCredentialsSecret: arn });
    const role = logicalId(built.stack.functions.oauthCallback.role);

    // Assess
    built.template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    expect(
      statementsOfRole(built.template, role).find((s) => actionsOf(s).includes('secretsmanager:GetSecretValue'))
        ?.Resource,
    ).toBe(arn);
  });

  it('refuses a partial ARN', () => {
    expect(() =>
      buildStack({
        existingCredentialsSecret: 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:bitrix24/client',
      }),
    ).toThrow(/complete secret ARN/);
  });
});

describe('notification topic', () => {
  it('can be left out: rules and alarms stay, without targets or actions', () => {
    // Act
    const built = buildStack({ notificationTopic: false });

    // Assess
    built.template.resourceCountIs('AWS::SNS::Topic', 0);
    for (const rule of Object.values(built.template.findResources('AWS::Events::Rule'))) {
      expect(rule.Properties.Targets).toBeUndefined();
    }
    for (const alarm of Object.values(built.template.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.AlarmActions).toBeUndefined();
    }
  });

  it('subscribes an email address, with undeliverable mails kept in the dead-letters queue', () => {
    // Act
    const built = buildStack({ notificationEmail: 'ops@example.com' });

    // Assess
    built.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: { Ref: logicalId(built.stack.notifications.topic) },
      RedrivePolicy: { deadLetterTargetArn: arnOf(logicalId(built.stack.deadLetters.queue)) },
    });
  });

  it('lets CloudWatch and EventBridge use the topic key, in this account only', () => {
    // Act
    const built = buildStack();
    const keyId = logicalId(built.stack.notifications.topicKey);

    // Assess
    built.template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: arnOf(keyId) });
    const policy = JSON.stringify(built.template.findResources('AWS::KMS::Key')[keyId]?.Properties.KeyPolicy);
    expect(policy).toContain('"Service":["cloudwatch.amazonaws.com","events.amazonaws.com"]');
    expect(policy).toContain('"aws:SourceAccount":{"Ref":"AWS::AccountId"}');
  });
});

describe('example consumer', () => {
  it('is not deployed unless asked for', () => {
    // Act
    const built = buildStack();

    // Assess
    expect(built.stack.functions.exampleConsumer).toBeUndefined();
    built.template.resourceCountIs('AWS::Lambda::Function', NAMES.length - 1);
    const descriptions = Object.values(built.template.findResources('AWS::Lambda::Function')).map(
      (fn) => fn.Properties.Description,
    );
    expect(descriptions).not.toContain(FUNCTIONS.exampleConsumer.description);
  });
});
