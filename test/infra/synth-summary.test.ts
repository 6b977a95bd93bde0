import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { summarizeAssembly, summaryLines } from '#scripts/synth-summary.js';
import { buildApp } from './stack-fixture.js';

describe('npm run synth summary', () => {
  it('names the template, what is in it and the cdk-nag verdict with the acknowledged findings', () => {
    // Prepare
    const { app } = buildApp({}, { nag: true });
    const assembly = app.synth();

    // Act
    const summary = summarizeAssembly(assembly.directory);
    const lines = summaryLines(summary, assembly.directory, 12);

    // Assess
    expect(summary.stacks).toHaveLength(1);
    expect(summary.stacks[0]).toMatchObject({ name: 'Bitrix24TokenService', functions: 8 });
    expect(summary.stacks[0]?.outputs).toEqual(
      expect.arrayContaining(['RedirectUri', 'InstallUrl', 'EventHandlerUrl']),
    );
    expect(summary.findings).toEqual([]);
    expect(summary.acknowledged).toEqual({
      'AwsSolutions-APIG4': 5,
      'AwsSolutions-IAM5': 3,
      'AwsSolutions-SMG4': 1,
      'AwsSolutions-SQS3': 1,
      'Serverless-LambdaDLQ': 8,
      'Serverless-LambdaEventSourceMappingDestination': 1,
      'Serverless-LambdaTracing': 8,
      'Serverless-SQSRedrivePolicy': 1,
    });
    expect(lines[0]).toBe('synth done in 12 s');
    expect(lines[1]).toMatch(
      /^ {2}template {2}Bitrix24TokenService\.template\.json: \d+ resources, 8 Lambda functions, outputs /,
    );
    expect(lines.at(-1)).toBe(
      '  cdk-nag   AwsSolutions and Serverless: passed, no open finding; 28 acknowledged with a reason (AwsSolutions-APIG4 ×5, AwsSolutions-IAM5 ×3, AwsSolutions-SMG4 ×1, AwsSolutions-SQS3 ×1, Serverless-LambdaDLQ ×8, Serverless-LambdaEventSourceMappingDestination ×1, Serverless-LambdaTracing ×8, Serverless-SQSRedrivePolicy ×1)',
    );
  });

  it('names each open finding of the validation report', () => {
    // Prepare
    const directory = mkdtempSync(join(tmpdir(), 'assembly-'));
    writeFileSync(
      join(directory, 'validation-report.json'),
      JSON.stringify({
        pluginReports: [
          {
            violations: [
              { ruleName: 'AwsSolutions-SNS3', violatingConstructs: [{ constructPath: 'Stack/Topic/Resource' }] },
            ],
          },
        ],
      }),
    );

    // Act
    const lines = summaryLines(summarizeAssembly(directory), directory, 3);

    // Assess
    expect(lines.at(-1)).toBe(
      '  cdk-nag   AwsSolutions and Serverless: 1 open finding: AwsSolutions-SNS3 at Stack/Topic/Resource',
    );
  });
});
