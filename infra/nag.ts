import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';

/**
 * Runs the cdk-nag AwsSolutions pack on every synth (v3 validation plugin). A finding fails the synth
 * unless the construct it is on acknowledges it with a reason (`Validations.of(x).acknowledge`).
 */
export function addNagChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
}
