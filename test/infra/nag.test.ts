import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import type { BitrixTokenStackProps } from '#infra/bitrix-token-stack.js';
import { buildApp } from './stack-fixture.js';

function nagApp(props: BitrixTokenStackProps = {}) {
  return buildApp(props, { nag: true });
}

/** Every `Validations.of(x).acknowledge()` below `root`: rule id → reasons. */
function acknowledgements(root: IConstruct): { id: string; reason: string; path: string }[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          // CDK stores an id without a plugin namespace as `Annotation::<id>`; cdk-nag reads it that way.
          id: id.replace(/^Annotation::/, ''),
          reason,
          path: construct.node.path,
        })),
      ),
  );
}

function violations(directory: string): string[] {
  const file = join(directory, 'validation-report.json');
  if (!existsSync(file)) return [];
  const report = JSON.parse(readFileSync(file, 'utf8')) as {
    pluginReports: { violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[] }[];
  };
  return report.pluginReports.flatMap((plugin) =>
    plugin.violations.flatMap((v) => v.violatingConstructs.map((c) => `${v.ruleName} at ${c.constructPath}`)),
  );
}

describe('cdk-nag AwsSolutions and Serverless', () => {
  it('finds nothing unacknowledged in the stack as deployed by default', () => {
    // Prepare
    const { app } = nagApp();

    // Act
    const assembly = app.synth();

    // Assess
    expect(violations(assembly.directory)).toEqual([]);
  });

  it.each<[string, BitrixTokenStackProps]>([
    [
      'an existing secret by name and no topic',
      { existingCredentialsSecret: 'bitrix24/client', notificationTopic: false },
    ],
    [
      'an existing secret by ARN and an email subscription',
      {
        existingCredentialsSecret: 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:bitrix24/client-AbCdEf',
        notificationEmail: 'ops@example.com',
      },
    ],
    [
      'a custom domain with its Route 53 zone',
      {
        domainName: 'bitrix.example.com',
        certificateArn: 'arn:aws:acm:eu-central-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789',
        hostedZone: { id: 'Z0123456789ABCDEFGHIJ', name: 'example.com' },
      },
    ],
  ])('finds nothing unacknowledged with %s', (_label, props) => {
    // Prepare
    const { app } = nagApp(props);

    // Act
    const assembly = app.synth();

    // Assess
    expect(violations(assembly.directory)).toEqual([]);
  });

  it('fails the synth on a finding nobody acknowledged (the checks are live)', () => {
    // Prepare
    const { app, stack } = nagApp();
    new Topic(stack, 'UnencryptedTopic'); // no enforceSSL: AwsSolutions-SNS3

    // Act
    let message = '';
    try {
      app.synth();
    } catch (error) {
      message = String(error);
    }

    // Assess
    expect(message).toContain('Bitrix24TokenService/UnencryptedTopic/Resource');
    expect(message).toContain('AwsSolutions-SNS3');
  });

  it('fails the synth on a Serverless finding nobody acknowledged', () => {
    // Prepare
    const { app, stack } = nagApp();
    new Queue(stack, 'QueueWithoutRedrive', { enforceSSL: true }); // Serverless-SQSRedrivePolicy

    // Act
    let message = '';
    try {
      app.synth();
    } catch (error) {
      message = String(error);
    }

    // Assess
    expect(message).toContain('Bitrix24TokenService/QueueWithoutRedrive/Resource');
    expect(message).toContain('Serverless-SQSRedrivePolicy');
  });

  it('acknowledges only the expected findings, each with its reason', () => {
    // Prepare
    const { stack } = nagApp();
    const dispatch = stack.resolve(stack.functions.dispatchRefreshes.functionArn)['Fn::GetAtt'][0];
    const parked = stack.resolve(stack.functions.processParkedEvents.functionArn)['Fn::GetAtt'][0];
    const table = stack.resolve(stack.tokens.table.tableArn)['Fn::GetAtt'][0];

    // Act
    const found = acknowledgements(stack);

    // Assess
    const functions = Object.values(stack.functions).filter((fn) => fn !== undefined).length;
    expect(found.map((a) => a.id).sort()).toEqual(
      [
        'AwsSolutions-SMG4',
        ...Array.from({ length: 5 }, () => 'AwsSolutions-APIG4'),
        `AwsSolutions-IAM5[Resource::<${dispatch}.Arn>:*]`,
        `AwsSolutions-IAM5[Resource::<${parked}.Arn>:*]`,
        `AwsSolutions-IAM5[Resource::<${table}.Arn>/stream/*]`,
        'AwsSolutions-SQS3',
        'Serverless-SQSRedrivePolicy',
        'Serverless-LambdaEventSourceMappingDestination',
        ...Array.from({ length: functions }, () => 'Serverless-LambdaDLQ'),
        ...Array.from({ length: functions }, () => 'Serverless-LambdaTracing'),
      ].sort(),
    );
    for (const { reason } of found) expect(reason.length).toBeGreaterThan(40);
    expect(found.filter((a) => a.id === 'AwsSolutions-APIG4').map((a) => a.path.split('/')[3])).toEqual([
      'GET--oauth--start',
      'GET--oauth--callback',
      'POST--bitrix--events',
      'GET--bitrix--install',
      'POST--bitrix--install',
    ]);
    const dlqReason = (path: string) =>
      found.find((a) => a.id === 'Serverless-LambdaDLQ' && a.path === `Bitrix24TokenService/${path}`)?.reason;
    expect(dlqReason('DispatchRefreshes')).toContain('on-failure destination');
    expect(dlqReason('RefreshWorker')).toContain('SQS event source mapping');
    expect(dlqReason('ProcessParkedEvents')).toContain('on-failure destination');
    expect(dlqReason('AppEvents')).toContain('synchronously by API Gateway');
  });
});
