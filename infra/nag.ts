import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';

/**
 * Runs the cdk-nag AwsSolutions and Serverless packs on every synth (v3 validation plugins). A finding
 * fails the synth unless the construct it is on acknowledges it with a reason
 * (`Validations.of(x).acknowledge`); test/infra/nag.test.ts lists every acknowledgement.
 */
export function addNagChecks(app: App): void {
  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app, { verbose: true }),
    new ServerlessChecks(app, { verbose: true }),
  );
}
