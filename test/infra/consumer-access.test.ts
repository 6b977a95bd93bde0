import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AccountPrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '#infra/constructs/app-function.js';
import { CONSUMER_READABLE_ATTRIBUTES } from '#shared/adapters/dynamodb/table-schema.js';
import { DEFAULT_PARAMETER_PREFIX } from '#shared/consumer/cdk/parameters.js';
import { TokenConsumerAccess } from '#shared/consumer/cdk/token-consumer-access.js';
import { actionsOf, buildApp, logicalId, type Statement, statementsOfRole } from './stack-fixture.js';

/** What another team's CDK app looks like: its own App and stack, a NodejsFunction with the defaults. */
interface TeamApp {
  readonly stack: Stack;
  readonly fn: NodejsFunction;
  readonly template: Template;
  readonly bundle: string;
}

let team: TeamApp;

// Another app, another stack: the example consumer built the way any team builds a Lambda (NodejsFunction
// with its defaults: the AWS SDK comes from the Lambda runtime), made a consumer by the package's construct.
beforeAll(() => {
  // Prepare
  const app = new App();
  const stack = new Stack(app, 'TeamStack');
  const fn = new NodejsFunction(stack, 'SyncLeads', {
    entry: join(PROJECT_ROOT, 'functions', 'example-consumer.ts'),
    runtime: Runtime.NODEJS_24_X,
    architecture: Architecture.ARM_64,
    projectRoot: PROJECT_ROOT,
    depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
    bundling: { minify: true },
  });

  // Act
  TokenConsumerAccess.fromParameters(stack, 'Bitrix24Tokens').bind(fn);
  const assembly = app.synth();
  const template = Template.fromStack(stack);
  const s3Key: unknown = Object.values(template.findResources('AWS::Lambda::Function'))[0]?.Properties.Code.S3Key;
  const dir = join(assembly.directory, `asset.${String(s3Key).replace(/\.zip$/, '')}`);
  team = { stack, fn, template, bundle: join(dir, 'index.js') };
}, 300_000);

function statements(): Statement[] {
  return statementsOfRole(team.template, logicalId(team.fn.role));
}

/** The CloudFormation parameter that resolves an SSM parameter name at deploy time. */
function ssmParameterFor(name: string): string {
  const parameters = team.template.toJSON().Parameters as Record<string, { Type: string; Default: string }>;
  const found = Object.entries(parameters).find(([, p]) => p.Default === name);
  if (found === undefined) throw new Error(`no parameter for ${name}`);
  expect(found[1].Type).toBe('AWS::SSM::Parameter::Value<String>');
  return found[0];
}

describe('TokenConsumerAccess in another CDK app', () => {
  it('reads the table, key and vendor from the parameters the service stack publishes', () => {
    // Act
    const names = ['table-name', 'table-arn', 'table-key-arn', 'vendor-function-arn'].map((n) =>
      ssmParameterFor(`${DEFAULT_PARAMETER_PREFIX}/consumer/${n}`),
    );

    // Assess
    expect(new Set(names).size).toBe(4);
  });

  it('sets the library environment and nothing of the service', () => {
    // Act
    const variables = Object.values(team.template.findResources('AWS::Lambda::Function'))[0]?.Properties.Environment
      .Variables;

    // Assess
    expect(variables).toEqual({
      BITRIX24_TOKEN_TABLE: { Ref: ssmParameterFor(`${DEFAULT_PARAMETER_PREFIX}/consumer/table-name`) },
      BITRIX24_TOKEN_VENDOR: { Ref: ssmParameterFor(`${DEFAULT_PARAMETER_PREFIX}/consumer/vendor-function-arn`) },
    });
  });

  it('grants exactly the reader permissions: readable attributes of PORTAL# items, decrypt via DynamoDB, invoke the vendor', () => {
    // Prepare
    const table = { Ref: ssmParameterFor(`${DEFAULT_PARAMETER_PREFIX}/consumer/table-arn`) };
    const key = { Ref: ssmParameterFor(`${DEFAULT_PARAMETER_PREFIX}/consumer/table-key-arn`) };
    const vendor = { Ref: ssmParameterFor(`${DEFAULT_PARAMETER_PREFIX}/consumer/vendor-function-arn`) };

    // Act
    const granted = statements();

    // Assess
    expect(granted).toEqual([
      {
        Action: ['dynamodb:GetItem', 'dynamodb:Query'],
        Effect: 'Allow',
        Resource: table,
        Condition: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['PORTAL#*'] },
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': [...CONSUMER_READABLE_ATTRIBUTES] },
          StringEqualsIfExists: { 'dynamodb:Select': 'SPECIFIC_ATTRIBUTES' },
        },
      },
      {
        Action: 'kms:Decrypt',
        Effect: 'Allow',
        Resource: key,
        Condition: {
          StringEquals: {
            'kms:ViaService': { 'Fn::Join': ['', ['dynamodb.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
          },
        },
      },
      { Action: 'lambda:InvokeFunction', Effect: 'Allow', Resource: vendor },
    ]);
  });

  it('grants no secret, no write, no EventBridge and no wildcard', () => {
    // Act
    const actions = statements().flatMap(actionsOf);

    // Assess
    expect(actions.filter((a) => /^(secretsmanager|events|sns|ssm):/.test(a))).toEqual([]);
    expect(actions.filter((a) => /Put|Update|Delete|Write|Batch|Transact|Scan|\*/.test(a))).toEqual([]);
    expect(CONSUMER_READABLE_ATTRIBUTES).not.toContain('refreshToken');
  });

  it('bundles a consumer that uses only the package to at most 150 KB, without the service wiring', () => {
    // Act
    const size = statSync(team.bundle).size;
    const code = readFileSync(team.bundle, 'utf8');

    // Assess: the AWS SDK is the Lambda runtime's (NodejsFunction's default), nothing else comes along
    expect(size).toBeLessThanOrEqual(150 * 1024);
    expect(code).toMatch(/require\(["']@aws-sdk\/client-dynamodb["']\)/);
    expect(code).toMatch(/require\(["']@aws-sdk\/client-lambda["']\)/);
    expect(code).not.toMatch(/aws-lambda-powertools|@middy|zod|SecretsManager|EventBridge/);
  });
});

describe('BitrixTokenStack.grantVendorInvoke', () => {
  it("lets another account's principal call the token vendor through its resource policy", () => {
    // Prepare
    const { stack } = buildApp();

    // Act
    stack.grantVendorInvoke(new AccountPrincipal('111122223333'));
    const template = Template.fromStack(stack);

    // Assess
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: '111122223333',
      FunctionName: { 'Fn::GetAtt': [logicalId(stack.functions.tokenVendor), 'Arn'] },
    });
  });
});
